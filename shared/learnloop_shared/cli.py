"""``learnloop``: run the whole system locally, and sign tokens for it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .auth import ensure_local_secret, issue_token

if TYPE_CHECKING:
    from .local.launcher import PortUse
    from .local.servers import LocalInfra
    from .local.stack import LocalStack

DEFAULT_SCOPES = ("directory:write", "shares:publish", "publishers:write")
DEMO_USERS = {
    "alice": ("Alice Author", ["kafka.streams"]),
    "bob": ("Bob Builder", ["kafka.*", "python"]),
    "carol": ("Carol Coder", ["python"]),
}


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_token(args: argparse.Namespace) -> int:
    secret = ensure_local_secret(Path(args.var) / "auth-secret")
    scopes = args.scope.replace(",", " ").split() if args.scope else []
    _out(issue_token(secret, args.subject, scopes, ttl_s=args.ttl))
    return 0


def _seed_demo(stack: object, admin_token: str) -> None:
    import httpx

    from .local.stack import LocalStack

    assert isinstance(stack, LocalStack)
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=stack.url("share"), headers=headers, timeout=10) as client:
        for user_id, (name, topics) in DEMO_USERS.items():
            client.put(f"/v1/users/{user_id}", json={"name": name, "topics": topics}).raise_for_status()
        client.put("/v1/teams/platform", json={"name": "Platform team", "members": ["bob", "carol"]}).raise_for_status()


DEMO_CREDENTIAL = "learnloop run demo"
LRS_ADMIN = "lrs:admin"


def _demo_credential(stack: object, secret: str) -> dict[str, str] | None:
    """A fresh LRS credential (scope ``all``) made through learn's ``POST /v1/lrs/credentials`` with an admin
    token signed here; the previous runs' demo credentials are revoked first, so they do not pile up. None
    (and a note) when learn refuses: the launcher runs on without it."""
    import httpx

    from .local.stack import LocalStack

    assert isinstance(stack, LocalStack)
    headers = {"Authorization": f"Bearer {issue_token(secret, 'learnloop-run', (LRS_ADMIN,))}"}
    try:
        with httpx.Client(base_url=stack.url("learn"), headers=headers, timeout=10) as client:
            r = client.get("/v1/lrs/credentials")
            r.raise_for_status()
            for old in r.json()["items"]:
                if old["name"] == DEMO_CREDENTIAL and old["created_by"] == "learnloop-run":
                    client.delete(f"/v1/lrs/credentials/{old['key']}")
            r = client.post("/v1/lrs/credentials", json={"name": DEMO_CREDENTIAL, "scopes": ["all"]})
            r.raise_for_status()
            return dict(r.json())
    except httpx.HTTPError as exc:
        _out(f"(no LRS demo credential: {exc})")
        return None


class _Interrupted(Exception):
    """Raised from the SIGTERM/SIGINT handler so that even a blocking start-up step stops at once."""


def _fail(message: str) -> int:
    sys.stderr.write(f"learnloop run: {message}\n")
    sys.stderr.flush()
    return 1


def _planned_ports(args: argparse.Namespace, mongo_ports: dict[str, int]) -> list[PortUse]:
    from .local.launcher import PortUse

    uses = [PortUse(args.kafka_port, "Kafka broker", "--kafka-port")]
    for i, (name, port) in enumerate(mongo_ports.items()):
        flag = "--mongo-port" if i == 0 else "--mongo-port (the next two ports are learn's and notify's)"
        uses.append(PortUse(port, f"{name}'s database", flag))
    for name in ("share", "learn", "notify"):
        uses.append(PortUse(getattr(args, f"{name}_port"), f"{name} service HTTP", f"--{name}-port"))
    return uses


# While the launcher runs on an existing var/: its databases persist, the broker's topics do not.
TOPICS_IN_MEMORY_NOTE = (
    "note: {var} holds the databases of an earlier run, but the Kafka broker keeps its topics in memory, "
    "so they start empty. Each service notices the new broker, re-sends the events its outbox sent recently "
    "and share re-drives recent fan-outs; consumers skip what they already have, so nothing doubles."
)


def cmd_run(args: argparse.Namespace) -> int:
    from .local.launcher import AlreadyRunning, GiveUp, RestartPolicy, Supervisor, VarLock, port_problem
    from .local.servers import LocalInfra
    from .local.stack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    var = Path(args.var).resolve()
    var.mkdir(parents=True, exist_ok=True)
    lock = VarLock(var)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        return _fail(f"another `learnloop run` (pid {exc}) is already using {var}; stop it first, or use --var")
    mongo_ports = {name: args.mongo_port + i for i, name in enumerate(("share", "learn", "notify"))}
    problem = port_problem(_planned_ports(args, mongo_ports))
    if problem:
        return _fail(problem)
    existing = any((var / f"mongo-{name}").exists() for name in mongo_ports)
    secret = ensure_local_secret(var / "auth-secret")
    infra = LocalInfra(args.kafka_port, mongo_ports, data_dir=var, log_dir=var / "log")
    stack = LocalStack(
        infra=infra,
        ports={"share": args.share_port, "learn": args.learn_port, "notify": args.notify_port},
        var_dir=var,
        secret_file=var / "auth-secret",
        # The whole stop must fit in STOP_TIMEOUT_S: services get a short grace period.
        extra_env={"LEARNLOOP_SHUTDOWN_HTTP_TIMEOUT_S": "1", "LEARNLOOP_SHUTDOWN_CONSUMER_TIMEOUT_S": "2"},
    )
    supervisor = Supervisor(stack, RestartPolicy(max_restarts=args.max_restarts, window_s=args.restart_window))
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping:
            raise _Interrupted

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        _out("starting Kafka broker, database and services…")
        if existing:
            _out(TOPICS_IN_MEMORY_NOTE.format(var=var))
        stack.start()
        tokens = {u: issue_token(secret, u, DEFAULT_SCOPES if u == "alice" else ()) for u in DEMO_USERS}
        if not args.no_demo:
            _seed_demo(stack, tokens["alice"])
        lrs = _demo_credential(stack, secret)
        _print_banner(stack, infra, var, tokens, lrs)
        while True:
            time.sleep(0.2)
            supervisor.tick()
    except _Interrupted:
        pass
    except GiveUp as exc:
        code = _fail(str(exc))
    except (RuntimeError, TimeoutError, OSError) as exc:  # a process that would not start: say which, no traceback
        code = _fail(f"could not start: {exc}; logs are in {var / 'log'}")
    finally:
        stopping = True
        _out("stopping…")
        stack.stop(timeout=STOP_TIMEOUT_S)
        lock.release()
        _out("stopped.")
    return code


# SIGTERM to stopped: what an orchestrator (or a user's patience) allows before SIGKILL.
STOP_TIMEOUT_S = 4.5


def _print_banner(
    stack: LocalStack, infra: LocalInfra, var: Path, tokens: dict[str, str], lrs: dict[str, str] | None = None
) -> None:
    _out()
    _out("Learnloop is running.")
    for name in ("share", "learn", "notify"):
        _out(f"  {name:<7} {stack.url(name)}   (API docs: {stack.url(name)}/docs)")
    _out(f"  kafka   {infra.bootstrap}")
    for name in infra.mongo_ports:
        _out(f"  mongodb {infra.mongo_url_for(name)}   ({name}'s database)")
    _out(f"  logs    {var / 'log'}")
    _out()
    _out("Demo tokens (alice may write the directory and publish for others):")
    for user, token in tokens.items():
        _out(f"  export TOKEN_{user.upper()}={token}")
    _out()
    _out("Inbox page (live; open it for bob, then share something with the platform team):")
    _out(f"  {stack.url('notify')}/inbox#token={tokens['bob']}")
    _out("Author's dashboard (live; alice's shares, their funnels, questions to answer):")
    _out(f"  {stack.url('learn')}/dashboard#token={tokens['alice']}")
    _out()
    _out("Try:")
    _out(
        f'  curl -s -X POST {stack.url("share")}/v1/shares -H "Authorization: Bearer $TOKEN_ALICE" '
        "-H 'content-type: application/json' "
        '-d \'{"title":"Kafka tips","audience":{"teams":["platform"]}}\''
    )
    _out(f'  curl -s {stack.url("notify")}/v1/notifications -H "Authorization: Bearer $TOKEN_BOB"')
    _out()
    if lrs is not None:
        import base64

        basic = base64.b64encode(f"{lrs['key']}:{lrs['secret']}".encode()).decode()
        statement = (
            '{"actor":{"mbox":"mailto:bob@example.com","name":"Bob"},'
            '"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},'
            '"object":{"id":"http://example.com/activities/kafka-tips"}}'
        )
        _out(f"LRS demo credential (xAPI under {stack.url('learn')}/xapi/, HTTP Basic, scope all):")
        _out(f"  key    {lrs['key']}")
        _out(f"  secret {lrs['secret']}")
        _out(f"  export LRS_AUTH='Basic {basic}'")
        _out(
            f'  curl -s -X POST {stack.url("learn")}/xapi/statements -H "Authorization: $LRS_AUTH" '
            "-H 'X-Experience-API-Version: 1.0.3' -H 'content-type: application/json' "
            f"-d '{statement}'"
        )
        _out(
            f'  curl -s {stack.url("learn")}/xapi/statements -H "Authorization: $LRS_AUTH" '
            "-H 'X-Experience-API-Version: 1.0.3'"
        )
        _out()
    _out("Press Ctrl-C to stop.")


def cmd_publish(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from .settings import Topics
    from .share_requests import send, share_request, to_kafka

    data: dict[str, object] = {
        "author_id": args.author,
        "title": args.title,
        "audience": {"users": args.user, "teams": args.team, "topics": args.topic},
    }
    if args.summary:
        data["summary"] = args.summary
    if args.url:
        data["url"] = args.url
    if args.tag:
        data["topics"] = args.tag
    event = share_request(args.source, data, event_id=args.id)
    if args.dry_run:
        value, headers = to_kafka(event, args.mode)
        _out(json.dumps({"headers": {k: v.decode() for k, v in headers}, "value": value.decode()}, indent=2))
        return 0
    asyncio.run(send(args.bootstrap, args.kafka_topic or Topics().share_requests, event, args.mode))
    _out(f"sent {event.get_attributes()['id']} ({args.mode} mode) from {args.source}")
    return 0


def cmd_contracts(args: argparse.Namespace) -> int:
    from .contracts_doc import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="learnloop", description=__doc__)
    parser.add_argument("--var", default="var", help="local data folder (default: ./var)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run broker, database and all services locally")
    run.add_argument("--share-port", type=int, default=8001)
    run.add_argument("--learn-port", type=int, default=8002)
    run.add_argument("--notify-port", type=int, default=8003)
    run.add_argument("--kafka-port", type=int, default=19092)
    run.add_argument(
        "--mongo-port", type=int, default=27018, help="share's database; learn's and notify's use the next two ports"
    )
    run.add_argument("--no-demo", action="store_true", help="do not create the demo users and team")
    run.add_argument(
        "--max-restarts", type=int, default=5, help="give up if a process crashes more often than this in the window"
    )
    run.add_argument("--restart-window", type=float, default=60.0, help="the window for --max-restarts, in seconds")
    run.set_defaults(func=cmd_run)

    token = sub.add_parser("token", help="print a signed access token for local mode")
    token.add_argument("subject", help="the user id (token `sub`)")
    token.add_argument("--scope", default="", help="space- or comma-separated scopes")
    token.add_argument("--ttl", type=int, default=30 * 86400, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    pub = sub.add_parser("publish", help="send a share request over Kafka, as another system would")
    pub.add_argument("--bootstrap", default="127.0.0.1:19092", help="Kafka bootstrap servers")
    pub.add_argument("--kafka-topic", help="default: learnloop.share-requests")
    pub.add_argument("--mode", choices=["binary", "structured"], default="structured")
    pub.add_argument("--source", required=True, help="CloudEvents source of a registered publisher")
    pub.add_argument("--id", help="CloudEvents id (default: a new UUID); resending the same id is deduplicated")
    pub.add_argument("--author", required=True, help="the author the share is published for")
    pub.add_argument("--title", required=True)
    pub.add_argument("--summary")
    pub.add_argument("--url")
    pub.add_argument("--tag", action="append", default=[], help="a topic the share is about (repeatable)")
    pub.add_argument("--user", action="append", default=[], help="audience: a user id (repeatable)")
    pub.add_argument("--team", action="append", default=[], help="audience: a team id (repeatable)")
    pub.add_argument("--topic", action="append", default=[], help="audience: subscribers of a topic (repeatable)")
    pub.add_argument("--dry-run", action="store_true", help="print the Kafka headers and value instead of sending")
    pub.set_defaults(func=cmd_publish)

    from .contracts_doc import add_arguments

    contracts = sub.add_parser("contracts", help="generate the event schemas, AsyncAPI and OpenAPI documents in docs/")
    add_arguments(contracts)
    contracts.set_defaults(func=cmd_contracts)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
