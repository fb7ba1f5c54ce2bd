"""Discovery documents: /version, /api, /api/v1, /apis, /apis/{group}, /apis/{group}/{version}."""

from __future__ import annotations

import hashlib
from typing import Any

from .kinds import RESOURCE_TYPES, ResourceType, groups

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kmc-sim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# Resources served outside the stored kinds.
AUTHZ_GROUP = "authorization.k8s.io"
_SSAR = {
    "name": "selfsubjectaccessreviews",
    "singularName": "selfsubjectaccessreview",
    "namespaced": False,
    "kind": "SelfSubjectAccessReview",
    "verbs": ["create"],
}

_SUBRESOURCE_FACTS: dict[str, tuple[str, str, str, list[str]]] = {
    # name: (group, version, kind, verbs); group "" means "the parent's"
    "status": ("", "", "", ["get", "patch", "update"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "log": ("", "", "Pod", ["get"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "binding": ("", "", "Binding", ["create"]),
    "proxy": ("", "", "", ["create", "delete", "get", "patch", "update"]),
    "exec": ("", "", "PodExecOptions", ["create", "get"]),
    "portforward": ("", "", "PodPortForwardOptions", ["create", "get"]),
}


def _storage_hash(rt: ResourceType) -> str:
    return hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()[:8].hex()


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular_name,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
        "storageVersionHash": _storage_hash(rt),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    for sub in rt.subresources:
        group, version, kind, verbs = _SUBRESOURCE_FACTS[sub]
        if sub == "proxy":
            kind = f"{rt.kind}ProxyOptions"
        sub_entry: dict[str, Any] = {
            "name": f"{rt.plural}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": kind or rt.kind,
            "verbs": verbs,
        }
        if group:
            sub_entry["group"], sub_entry["version"] = group, version
        entries.append(sub_entry)
    return entries


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    resources = [
        e
        for rt in RESOURCE_TYPES
        if rt.group == group and rt.version == version
        for e in _resource_entries(rt)
    ]
    if group == AUTHZ_GROUP and version == "v1":
        resources = [_SSAR]
    if not resources:
        return None
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def all_groups() -> dict[str, list[str]]:
    return {**groups(), AUTHZ_GROUP: ["v1"]}


def group_list() -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in all_groups().items()],
    }


def api_group(name: str) -> dict[str, Any] | None:
    versions = all_groups().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


# ----- OpenAPI v3 ------------------------------------------------------------------------------
# kubectl validates `apply`/`create -f` through the server when the group-version's OpenAPI v3
# document shows a PATCH operation for the kind taking the `fieldValidation` query parameter;
# without any document it refuses ("failed to download openapi"). These documents carry exactly
# that (paths, operations, GVK extensions), not the schemas.
def _openapi_prefix(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root() -> dict[str, Any]:
    versions = {(rt.group, rt.version) for rt in RESOURCE_TYPES}
    paths = {}
    for group, version in sorted(versions):
        prefix = _openapi_prefix(group, version)
        digest = hashlib.sha256(prefix.encode()).hexdigest()[:16].upper()
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest}"}
    return {"paths": paths}


def openapi_document(prefix: str) -> dict[str, Any] | None:
    types = [rt for rt in RESOURCE_TYPES if _openapi_prefix(rt.group, rt.version) == prefix]
    if not types:
        return None
    field_validation = {
        "name": "fieldValidation",
        "in": "query",
        "description": "Strict, Warn or Ignore: how the server treats unknown or duplicate fields.",
        "schema": {"type": "string", "uniqueItems": True},
    }
    paths: dict[str, Any] = {}
    for rt in types:
        item = (
            f"/{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
            if rt.namespaced
            else f"/{prefix}/{rt.plural}/{{name}}"
        )
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        operation = {
            "operationId": f"patch{rt.kind}",
            "parameters": [field_validation],
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "responses": {"200": {"description": "OK"}},
        }
        paths[item] = {"patch": operation}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kmc-sim)", "version": VERSION["gitVersion"]},
        "paths": paths,
    }
