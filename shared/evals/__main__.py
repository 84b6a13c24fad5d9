"""`python -m shared.evals` (`make eval`): run the evaluation scenarios, or compare two runs.

    python -m shared.evals run [--mode deterministic|model] [--out DIR] [--parallel N] [--scenario ID …] [--tag T …]
    python -m shared.evals compare RUN_A RUN_B
    python -m shared.evals validate

Exit status of `run`: 0 when every scenario passed, 1 otherwise (the deterministic mode fails CI on a
plumbing regression), 2 for bad usage or invalid scenario files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shared.evals.scenario import DEFAULT_DIR, ScenarioError, load_all


@click.group()
def main() -> None:
    """Shoal's investigation evaluation harness (docs/evals.md)."""


@main.command()
@click.option("--mode", type=click.Choice(["deterministic", "model"]), default="deterministic", show_default=True,
              help="deterministic: scripted reference investigations (plumbing only); model: the configured provider")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="output directory (results.jsonl, report.json, report.md); an existing one is resumed")
@click.option("--scenarios", "root", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=DEFAULT_DIR, show_default=True)
@click.option("--scenario", "only", multiple=True, help="run only this scenario id (repeatable)")
@click.option("--tag", "tags", multiple=True, help="run only scenarios with this tag (repeatable)")
@click.option("--parallel", type=click.IntRange(1, 32), default=1, show_default=True,
              help="scenarios at once, each in its own worker process")
@click.option("--fresh", is_flag=True, help="forget the output directory's earlier results instead of resuming")
def run(mode: str, out: Path | None, root: Path, only: tuple[str, ...], tags: tuple[str, ...], parallel: int,
        fresh: bool) -> None:
    """Run the scenarios (resuming an interrupted run in --out) and write the report."""
    from shared.evals import report, runner

    out = out or Path("evals") / "runs" / mode
    if fresh:
        for name in (runner.RESULTS, runner.RUN, report.REPORT_JSON, report.REPORT_MD):
            (out / name).unlink(missing_ok=True)
    if mode == "deterministic":
        click.echo(runner.NOT_QUALITY)

    def progress(record: dict) -> None:
        click.echo(f"{'pass' if record['passed'] else 'FAIL'} {record['id']} ({record['seconds']}s)")

    try:
        records = runner.run(out, mode=mode, root=root, only=list(only) or None, tags=list(tags) or None,
                             parallel=parallel, progress=progress)
    except (ScenarioError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    summary = report.write(out, records)
    overall = summary["overall"]
    click.echo(f"{overall['passed']}/{overall['total']} passed; report: {out / report.REPORT_MD}")
    for failure in summary["failed"]:
        click.echo(f"  FAIL {failure['id']}: {failure['why']}")
    if mode == "deterministic":
        click.echo(runner.NOT_QUALITY)
    sys.exit(0 if overall["passed"] == overall["total"] else 1)


@main.command()
@click.argument("run_a", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, exists=True, path_type=Path))
def compare(run_a: Path, run_b: Path) -> None:
    """Compare run B with run A (pass rates overall and per tag, changed scenarios)."""
    from shared.evals import report

    try:
        click.echo(report.compare(report.load(run_a), report.load(run_b)), nl=False)
    except (OSError, ValueError, KeyError) as exc:
        click.echo(f"error: cannot read the reports: {exc}", err=True)
        sys.exit(2)


@main.command()
@click.option("--scenarios", "root", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=DEFAULT_DIR, show_default=True)
def validate(root: Path) -> None:
    """Validate every scenario file (pydantic), without running anything."""
    try:
        scenarios = load_all(root)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    tags: dict[str, int] = {}
    for scenario in scenarios:
        for tag in scenario.tags:
            tags[tag] = tags.get(tag, 0) + 1
    click.echo(f"{len(scenarios)} scenarios valid; tags: "
               + ", ".join(f"{t} {n}" for t, n in sorted(tags.items())))


if __name__ == "__main__":
    main()
