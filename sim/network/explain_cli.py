"""`cloudtwin-explain SCENARIO SRC DST --protocol tcp --port 443`: whether one flow gets through, hop by hop."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional


SCENARIO_DIR = Path(__file__).resolve().parents[2] / "configs" / "scenario"


def scenario_path(text: str) -> Path:
    """A scenario given as a file path, or as the name of a shipped scenario (`vpc_three_tier`)."""
    path = Path(text)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in text:
        return path
    return SCENARIO_DIR / f"{text}.yaml"


def main(argv: Optional[List[str]] = None) -> int:
    """Print the explanation of one flow; exit 0 when explained (whatever the verdict), 2 on a mistake."""
    parser = argparse.ArgumentParser(
        prog="cloudtwin-explain",
        description="Explain whether a flow gets through a scenario's VPCs: every security group, network ACL,"
                    " route and gateway on the way and back, with the rule that decided.",
        epilog="exit status: 0 when the flow was explained, whether it is accepted or rejected; 2 for a "
               "mistake (a scenario that does not exist or does not validate, an unknown host or address, "
               "a bad protocol or port).")
    parser.add_argument("scenario", help="a scenario YAML file, or the name of one in configs/scenario/ "
                                         "(e.g. vpc_three_tier)")
    parser.add_argument("src", help="host name, host IP, internet:IP or onprem:IP")
    parser.add_argument("dst", help="host name, host IP (a public IP reaches its host), internet:IP or onprem:IP")
    parser.add_argument("--protocol", default="tcp", help="tcp, udp, icmp or a protocol number (default tcp)")
    parser.add_argument("--port", type=int, default=443, help="destination port (default 443)")
    parser.add_argument("--src-port", type=int, default=None,
                        help="source port (default: the initiator's first ephemeral port)")
    args = parser.parse_args(argv)

    from scenarios.errors import ScenarioError
    from sim.network.paths import EndpointError, explain_flow

    try:
        result = explain_flow(scenario_path(args.scenario), args.src, args.dst, args.protocol, args.port, args.src_port)
    except ScenarioError as err:
        print("cloudtwin-explain: the scenario has mistakes:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in str(err).splitlines()), file=sys.stderr)
        return 2
    except EndpointError as err:
        print(f"cloudtwin-explain: {err}", file=sys.stderr)
        return 2
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _entry() -> None:
    """Console-script entry point: the exit status is main()'s."""
    sys.exit(main())
