"""Entry point of the `paas` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:  # fast path: no CLI import
        from paas import __version__

        print(f"paas {__version__}")
        return
    from paas import remote

    target = remote.target_for(args)
    if target is not None:
        sys.exit(remote.run(target, args))
    from paas.cli.introspect import group_for

    group_for(args[0] if args else "")(args=args, prog_name="paas")


if __name__ == "__main__":
    main()
