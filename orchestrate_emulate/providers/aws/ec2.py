"""aws_security_group: id, arn, name, description, vpc_id, owner_id, revoke_rules_on_delete,
ingress and egress blocks (from_port, to_port, protocol, cidr_blocks, description), tags, tags_all.

As the real provider does, a new group loses the allow-all egress rule AWS adds: only the
rules in the configuration exist. Rules are matched by meaning (protocol "6" is "tcp", "all"
is "-1", a missing description equals ""), and a read keeps the configuration's spelling.
"""

from __future__ import annotations

from typing import Any

from tf.blocks import SetNestedBlock
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, List, Number, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.aws._base import (
    AwsResource,
    error_code,
    tag_attributes,
    tag_dict,
    tag_list,
)

PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
Rule = dict[str, Any]
Atom = tuple[str, int, int, str, str]  # protocol, from, to, cidr, description


def _rule_block(name: str) -> SetNestedBlock:
    return SetNestedBlock(
        name,
        Block(
            attributes=[
                Attribute("from_port", Number(), required=True),
                Attribute("to_port", Number(), required=True),
                Attribute("protocol", String(), required=True),
                Attribute("cidr_blocks", List(String()), optional=True),
                Attribute("description", String(), optional=True),
            ]
        ),
    )


def _protocol(p: Any) -> str:
    text = str(p).lower()
    return PROTOCOLS.get(text, text)


def _atoms(rules: list[Rule] | None) -> set[Atom]:
    """Rules as (protocol, from, to, cidr, description) atoms, the unit AWS grants."""
    out: set[Atom] = set()
    for r in rules or []:
        proto = _protocol(r.get("protocol"))
        lo, hi = (0, 0) if proto == "-1" else (int(r.get("from_port") or 0), int(r.get("to_port") or 0))
        for cidr in r.get("cidr_blocks") or []:
            out.add((proto, lo, hi, cidr, r.get("description") or ""))
    return out


def _permissions(atoms: set[Atom]) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, int, int], list[dict[str, str]]] = {}
    for proto, lo, hi, cidr, desc in sorted(atoms):
        ranges = grouped.setdefault((proto, lo, hi), [])
        ranges.append({"CidrIp": cidr, **({"Description": desc} if desc else {})})
    perms = []
    for (proto, lo, hi), ranges in grouped.items():
        perm: dict[str, Any] = {"IpProtocol": proto, "IpRanges": ranges}
        if proto != "-1":
            perm.update(FromPort=lo, ToPort=hi)
        perms.append(perm)
    return perms


def _flatten(permissions: list[dict[str, Any]], prior: list[Rule] | None) -> list[Rule]:
    """Live permissions as rule blocks: one per (protocol, ports, description), prior spelling kept."""
    rules: dict[tuple[str, int, int, str], list[str]] = {}
    for p in permissions:
        proto = _protocol(p.get("IpProtocol"))
        lo, hi = (0, 0) if proto == "-1" else (int(p.get("FromPort", 0)), int(p.get("ToPort", 0)))
        for r in p.get("IpRanges") or []:
            rules.setdefault((proto, lo, hi, r.get("Description") or ""), []).append(r["CidrIp"])
    out: list[Rule] = []
    remaining = list(prior or [])
    for (proto, lo, hi, desc), cidrs in sorted(rules.items()):
        atoms = {(proto, lo, hi, c, desc) for c in cidrs}
        match = next((r for r in remaining if _atoms([r]) == atoms), None)
        if match is not None:
            remaining.remove(match)
            out.append(dict(match))
        else:
            out.append(
                {
                    "from_port": lo,
                    "to_port": hi,
                    "protocol": proto,
                    "cidr_blocks": cidrs,
                    "description": desc or None,
                }
            )
    return out


class SecurityGroup(AwsResource):
    name = "security_group"
    display = "Security Group"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("arn", String(), computed=True),
                Attribute("name", String(), optional=True, computed=True, requires_replace=True),
                Attribute(
                    "description",
                    String(),
                    optional=True,
                    computed=True,
                    default="Managed by Terraform",
                    requires_replace=True,
                ),
                Attribute("vpc_id", String(), optional=True, computed=True, requires_replace=True),
                Attribute("owner_id", String(), computed=True),
                Attribute("revoke_rules_on_delete", Bool(), optional=True, computed=True, default=False),
                *tag_attributes(),
            ],
            block_types=[_rule_block("ingress"), _rule_block("egress")],
        )

    def _describe(self, group_id: str) -> dict[str, Any] | None:
        try:
            groups = self.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        except Exception as exc:
            if error_code(exc) in (
                "InvalidGroup.NotFound",
                "InvalidGroupId.NotFound",
                "InvalidGroupId.Malformed",
            ):
                return None
            raise
        return groups[0] if groups else None

    def _sync_rules(self, group_id: str, live: dict[str, Any], planned: State) -> None:
        ec2 = self.client("ec2")
        for kind, key, revoke, grant in (
            (
                "ingress",
                "IpPermissions",
                ec2.revoke_security_group_ingress,
                ec2.authorize_security_group_ingress,
            ),
            (
                "egress",
                "IpPermissionsEgress",
                ec2.revoke_security_group_egress,
                ec2.authorize_security_group_egress,
            ),
        ):
            have = _atoms(_flatten(live.get(key) or [], None))
            want = _atoms(planned.get(kind))
            if have - want:
                revoke(GroupId=group_id, IpPermissions=_permissions(have - want))
            if want - have:
                grant(GroupId=group_id, IpPermissions=_permissions(want - have))

    def do_create(self, planned: State) -> State | None:
        ec2 = self.client("ec2")
        name = planned.get("name")
        if not name:
            raise ProviderError("name is required by this stand-in (name_prefix is not supported)")
        kwargs: dict[str, Any] = {
            "GroupName": name,
            "Description": planned.get("description") or "Managed by Terraform",
        }
        if planned.get("vpc_id"):
            kwargs["VpcId"] = planned["vpc_id"]
        tags = self.desired_tags(planned)
        if tags:
            kwargs["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tag_list(tags)}]
        group_id = ec2.create_security_group(**kwargs)["GroupId"]
        live = self._describe(group_id)
        if live is None:
            raise ProviderError(f"the new security group {group_id} cannot be read back")
        self._sync_rules(group_id, live, planned)
        return self.do_read({**planned, "id": group_id})

    def do_read(self, current: State) -> State | None:
        live = self._describe(current["id"])
        if live is None:
            return None
        revoke = current.get("revoke_rules_on_delete")
        return {
            "id": live["GroupId"],
            "arn": live.get("SecurityGroupArn")
            or f"arn:aws:ec2:{self.aws.region}:{live.get('OwnerId')}:security-group/{live['GroupId']}",
            "name": live["GroupName"],
            "description": live.get("Description", ""),
            "vpc_id": live.get("VpcId"),
            "owner_id": live.get("OwnerId"),
            "revoke_rules_on_delete": bool(revoke) if revoke is not None else False,
            "ingress": _flatten(live.get("IpPermissions") or [], current.get("ingress")),
            "egress": _flatten(live.get("IpPermissionsEgress") or [], current.get("egress")),
            **self.tag_state(tag_dict(live.get("Tags")), current),
        }

    def do_update(self, current: State, planned: State) -> State | None:
        ec2 = self.client("ec2")
        group_id = current["id"]
        live = self._describe(group_id)
        if live is None:
            raise ProviderError(f"the security group {group_id} no longer exists")
        self._sync_rules(group_id, live, planned)
        self.sync_tags(
            planned,
            tag_dict(live.get("Tags")),
            lambda gone: ec2.delete_tags(Resources=[group_id], Tags=[{"Key": k} for k in gone]),
            lambda want: ec2.create_tags(Resources=[group_id], Tags=tag_list(want)),
        )
        return self.do_read({**planned, "id": group_id})

    def do_delete(self, current: State) -> None:
        ec2 = self.client("ec2")
        group_id = current["id"]
        if current.get("revoke_rules_on_delete"):
            live = self._describe(group_id)
            if live is not None:
                self._sync_rules(group_id, live, {"ingress": [], "egress": []})
        try:
            ec2.delete_security_group(GroupId=group_id)
        except Exception as exc:
            if error_code(exc) not in ("InvalidGroup.NotFound", "InvalidGroupId.NotFound"):
                raise

    def import_state(self, resource_id: str) -> State:
        return {"id": resource_id, "tags": None, "ingress": None, "egress": None}
