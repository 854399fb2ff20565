"""Command line: ``kaifang db upgrade``, ``kaifang serve``, ``kaifang demo``, ``kaifang audit verify`` …"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from kaifang.config import Environment, Settings

app = typer.Typer(help="Kaifang public data open platform", no_args_is_help=True)
db_app = typer.Typer(help="Database schema")
audit_app = typer.Typer(help="Audit trail")
user_app = typer.Typer(help="Accounts")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
catalog_app = typer.Typer(help="Resource catalog")
app.add_typer(catalog_app, name="catalog")
grants_app = typer.Typer(help="Grants of conditional data")
app.add_typer(grants_app, name="grants")


def _settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return settings


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (creates the database on first run)."""
    from kaifang.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.database_url, revision)
    typer.echo(f"database at {revision}: {settings.database_url.split('@')[-1]}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the site and the API with uvicorn."""
    _serve(_settings(), host, port, workers)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import threading

    import uvicorn

    from kaifang.app import create_app
    from kaifang.catalog.search import warm_up

    # Load the Chinese segmentation dictionary now rather than on the first search (~1.5 s).
    threading.Thread(target=warm_up, name="jieba-warm-up", daemon=True).start()

    if workers > 1:
        uvicorn.run("kaifang.asgi:app", host=host, port=port, workers=workers, log_config=None)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000,
         serve_site: bool = typer.Option(True, "--serve/--no-serve")) -> None:
    """Migrate, seed the demo city, print the demo accounts and serve."""
    from kaifang.db import make_engine, make_session_factory, unit_of_work
    from kaifang.demo import DEMO_PASSWORD, seed_demo
    from kaifang.demo.versions import seed_versions
    from kaifang.migrate import upgrade_database

    settings = _settings(environment=Environment.DEMO)
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        accounts = seed_demo(session, settings)
    engine.dispose()
    # The datasets' data is ingested through the real pipeline, each run in its own transactions.
    seed_versions(settings)
    url = f"http://{host}:{port}"
    typer.echo(f"\nKaifang demo city is ready at {url}\n")
    typer.echo(f"{'account':<10} {'password':<20} role")
    for account in accounts:
        typer.echo(f"{account.username:<10} {DEMO_PASSWORD:<20} {account.description}")
    typer.echo("")
    sys.stdout.flush()
    if serve_site:
        from kaifang.jobs import start_background_consumer

        # Reminders and overdue marking run on the embedded SQLite queue beside the server.
        consumer = start_background_consumer(settings)
        try:
            # A person watches this terminal: plain log lines rather than JSON.
            _serve(settings.with_overrides(log_json=False), host, port)
        finally:
            consumer.stop()


@app.command()
def worker(workers: int = 1) -> None:
    """Run the background job worker (reminders, overdue marking) until interrupted."""
    from kaifang.jobs import run_consumer

    run_consumer(_settings(), workers=workers)


@app.command()
def ingest(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, XLSX, XLS, JSON or GeoJSON"),
           entry: str = typer.Option(..., "--entry", help="short name of the catalog entry"),
           plan: str = typer.Option("current", help="current (the latest version's plan), suggested, "
                                                   "or a JSON file"),
           publish: bool = typer.Option(False, help="make the new version the current one")) -> None:
    """Ingest a file on this machine into a new version of a dataset, with a progress bar."""
    from kaifang.datasets.command import ingest_cli
    from kaifang.errors import KaifangError

    with typer.progressbar(length=100, label=file.name, item_show_func=_rows_read) as bar:
        def progress(rows: int, percent: float) -> None:
            bar.current_item = rows
            bar.update(max(0, int(percent) - bar.pos))

        try:
            outcome = ingest_cli(_settings(), file, entry, plan=plan, publish=publish, progress=progress)
        except KaifangError as exc:  # no such entry, a file that cannot be read, a bad plan
            typer.echo(f"\n{exc.message}", err=True)
            raise typer.Exit(1) from None
    if outcome.status == "needs_plan":
        typer.echo(json.dumps(outcome.report, ensure_ascii=False, indent=2))
        typer.echo("no plan yet: confirm one with --plan suggested or --plan plan.json", err=True)
        raise typer.Exit(2)
    if outcome.error:
        typer.echo(f"{outcome.error['code']}: {outcome.error['message']}", err=True)
        raise typer.Exit(1)
    typer.echo(f"version {outcome.version} written{' and published' if publish else ''} (job {outcome.job_id})")


def _rows_read(rows: int | None) -> str:
    return f"{rows:,} rows" if rows else ""


@catalog_app.command("reindex")
def catalog_reindex() -> None:
    """Rebuild the search index of every catalog entry."""
    from kaifang.catalog.search import reindex_command

    typer.echo(f"indexed {reindex_command(_settings())} entries")


@catalog_app.command("harvest")
def catalog_harvest(
    source: str = typer.Argument(..., help="URL or file of a DCAT catalog, or a CKAN site's URL"),
    kind: str = typer.Option("dcat", help="dcat or ckan"),
    provider: str = typer.Option(..., help="short name of the provider receiving the drafts"),
    user: str = typer.Option(..., help="a member of that provider (or of a body above it)"),
    domain: str = typer.Option("other", help="domain for entries whose theme is unknown"),
) -> None:
    """Import another catalog's datasets as draft entries (integrating old channels, CQ 8)."""
    from kaifang.catalog.harvest import harvest_command

    if kind not in ("dcat", "ckan"):
        raise typer.BadParameter("kind must be dcat or ckan")
    report = harvest_command(_settings(), kind, source, provider, user, default_domain=domain)
    typer.echo(f"created {len(report.created)}, already there {len(report.skipped)}, failed {len(report.failed)}")
    for name, reason in report.failed:
        typer.echo(f"  {name}: {reason}", err=True)


@app.command()
def trace(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                      help="the leaked file: CSV (any encoding), XLSX, JSON or Parquet"),
          entry: str | None = typer.Option(None, "--entry", help="short name of the dataset it seems to come from "
                                                                 "(default: every conditional dataset)"),
          as_json: bool = typer.Option(False, "--json", help="print the report as JSON")) -> None:
    """Name the grant a leaked file came from, with a confidence figure; exit 1 if none is named."""
    from kaifang.access.engine import QueryEngine
    from kaifang.access.trace import report_dict, report_lines, trace_file
    from kaifang.datasets.storage import storage_for
    from kaifang.db import make_engine, make_session_factory
    from kaifang.errors import KaifangError

    settings = _settings()
    database = make_engine(settings.database_url)
    engine = QueryEngine(settings, storage_for(settings))
    try:
        with make_session_factory(database)() as session:
            report = trace_file(session, settings, engine, file, entry)
            output = json.dumps(report_dict(report), ensure_ascii=False, indent=2) if as_json \
                else "\n".join(report_lines(report))
    except KaifangError as exc:  # no such dataset, a file that cannot be read
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        engine.close()
        database.dispose()
    typer.echo(output)
    if not report.traced:
        raise typer.Exit(1)


@grants_app.command("feedback")
def grants_feedback(today: str = typer.Option("", help="the day to count from, YYYY-MM-DD (default: today)")) -> None:
    """Open the usage reports that have fallen due (the daily job does this at 00:01 Beijing time)."""
    import datetime as dt

    from kaifang.access.feedback import open_due_reports
    from kaifang.db import make_engine, make_session_factory, unit_of_work

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            opened = open_due_reports(session, settings, dt.date.fromisoformat(today) if today else None)
    finally:
        engine.dispose()
    typer.echo(f"opened {opened} usage reports")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 and name the first broken event if it was tampered with."""
    from kaifang.audit.queries import verify_chain
    from kaifang.db import make_engine, make_session_factory

    settings = _settings()
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        result = verify_chain(session)
    engine.dispose()
    if result.ok:
        typer.echo(f"audit chain intact: {result.checked} events")
        return
    typer.echo(f"audit chain BROKEN at event {result.broken_seq}: {result.reason} "
               f"({result.checked} events verified before it)", err=True)
    raise typer.Exit(1)


@user_app.command("create")
def user_create(username: str, email: str, password: str = typer.Option(..., prompt=True, hide_input=True),
                role: list[str] = typer.Option([], help="platform_admin, authority_reviewer, auditor, expert"),
                display_name: str = "") -> None:
    """Create an account (for example the first administrator)."""
    from kaifang.auth.actions import create_user_direct, grant_role_system
    from kaifang.auth.models import AccountType, Role
    from kaifang.db import make_engine, make_session_factory, unit_of_work

    settings = _settings()
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        user = create_user_direct(session, settings, username=username, email=email,
                                  display_name=display_name or username,
                                  account_type=AccountType.NATURAL_PERSON, password=password)
        for name in role:
            grant_role_system(session, user, Role(name))
    engine.dispose()
    typer.echo(f"created {username}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
