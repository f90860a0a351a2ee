"""The release steps the deploy workflow runs, one subcommand each; `make release-rehearsal` runs the same ones.

Usage: python3 -m release preflight
       python3 -m release plan --image NAME --version X.Y.Z --stamp STAMP [--attempt N]
       python3 -m release previous-model --image NAME --dest DIR
       python3 -m release card --image NAME@DIGEST --out DIR [--served MODEL_VERSION]
       python3 -m release deploy --image NAME@DIGEST [--attempts 3] [--wait 10]
       python3 -m release verify --url URL --expected MODEL_VERSION [--timeout 600] [--interval 10]
       python3 -m release promote --image NAME@DIGEST --version X.Y.Z
       python3 -m release smoke --image NAME@DIGEST [--port 18080]

A run pushes its image under its stamp tag only (`X.Y.Z-<stamp>`, forever that build); `latest` and `X.Y.Z` move
to it (promote) only once the service verifiably serves it, or when no service is configured yet. So `latest` is
always the model being served, which the next run trains on from (previous-model).

Standard library only (it runs on the runner's own Python); the docker CLI follows DOCKER_HOST. Values for later
steps go to $GITHUB_OUTPUT (stdout when unset) and the model card to $GITHUB_STEP_SUMMARY. The deploy hook's URL
holds Render's key, so it is read from the environment and never printed. Each failure is one line on stderr and
a non-zero exit, before anything is pushed or deployed when it can be known then.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from release.build import COLD_START, NOT_CONFIGURED, check_preflight, plan_build, pull_previous_model
from release.common import DEPLOY_HOOK_URL, SERVICE_URL, ReleaseError, write_outputs, write_summary
from release.deploy import trigger_deploy, wait_for_version
from release.image import promote, read_card, smoke
from release.registry import RegistryError


def build_parser() -> argparse.ArgumentParser:
    """One subcommand per release step, with its options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("preflight", help=f"{SERVICE_URL} and {DEPLOY_HOOK_URL} are set, before anything is built")
    plan = steps.add_parser("plan", help="the repository, tags and build arguments of this run's image")
    previous = steps.add_parser("previous-model", help="the model of <image>:latest, into --dest")
    card = steps.add_parser("card", help="model and report of the pushed image, into --out; the job summary")
    deploy = steps.add_parser("deploy", help=f"POST {DEPLOY_HOOK_URL} with imgURL=<image by digest>")
    verify = steps.add_parser("verify", help="poll <url>/model until it reports the expected model_version")
    promoted = steps.add_parser("promote", help="move latest and X.Y.Z to the image (by digest) now served")
    smoked = steps.add_parser("smoke", help="run the image and ask every pair it serves for a prediction")
    smoked.add_argument("--port", type=int, default=18080)
    for step in (plan, previous, card, deploy, promoted, smoked):
        step.add_argument("--image", required=True)
    for step in (plan, promoted):
        step.add_argument("--version", required=True)
    card.add_argument("--served", default="", help="the model_version being served (previous-model's)")
    plan.add_argument("--stamp", required=True)
    plan.add_argument("--attempt", type=int, default=1, help="github.run_attempt")
    previous.add_argument("--dest", type=Path, required=True)
    card.add_argument("--out", type=Path, required=True)
    deploy.add_argument("--attempts", type=int, default=3)
    deploy.add_argument("--wait", type=float, default=10.0, help="seconds between attempts")
    verify.add_argument("--url", default=os.environ.get(SERVICE_URL, ""))
    verify.add_argument("--expected", required=True)
    verify.add_argument("--timeout", type=float, default=600.0, help="seconds, all attempts included")
    verify.add_argument("--interval", type=float, default=10.0)
    return parser


def run_step(args: argparse.Namespace) -> None:
    """The step `args.step` names, its outputs written; a ReleaseError or RegistryError when it cannot go on."""
    if args.step == "preflight":
        outputs = check_preflight(os.environ)
        if outputs["deploy"] == "true":
            print(f"release: {SERVICE_URL} and {DEPLOY_HOOK_URL} are set", file=sys.stderr)
        else:
            write_summary(NOT_CONFIGURED)
        write_outputs(outputs)
    elif args.step == "plan":
        write_outputs(plan_build(args.image, args.version, args.stamp, os.environ, args.attempt))
    elif args.step == "previous-model":
        cold_start = os.environ.get(COLD_START, "").strip().lower() == "true"
        write_outputs(pull_previous_model(args.image, args.dest, cold_start))
    elif args.step == "card":
        write_outputs(read_card(args.image, args.out, args.served))
    elif args.step == "promote":
        promote(args.image, args.version)
    elif args.step == "smoke":
        for line in smoke(args.image, args.port):
            print(f"release: smoke: {line}", file=sys.stderr)
    elif args.step == "deploy":
        deploy_id = trigger_deploy(args.image, os.environ.get(DEPLOY_HOOK_URL, ""), args.attempts, args.wait)
        write_outputs({"deploy_id": deploy_id})
    else:
        seconds = wait_for_version(args.url, args.expected, args.timeout, args.interval)
        print(f"release: {args.url} serves {args.expected} ({seconds:.0f} s after the deploy)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run_step(args)
    except (ReleaseError, RegistryError) as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
