"""`cloudtwin-explain SCENARIO SRC DST --protocol tcp --port 443`: whether one flow gets through, hop by hop."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Print the explanation of one flow; exit 0 when explained (whatever the verdict), 2 on a mistake."""
    parser = argparse.ArgumentParser(
        prog="cloudtwin-explain",
        description="Explain whether a flow gets through a scenario's VPCs: every security group, network ACL,"
                    " route and gateway on the way and back, with the rule that decided.")
    parser.add_argument("scenario", help="scenario YAML file (configs/scenario/NAME.yaml)")
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
        result = explain_flow(args.scenario, args.src, args.dst, args.protocol, args.port, args.src_port)
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
