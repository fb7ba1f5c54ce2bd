"""Findings: rules over cluster, metrics and tracking state. No Textual. (Not built yet.)"""
