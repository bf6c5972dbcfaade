"""The `tracker` command: database, reference data, users and the web server.

Commands wrap the same domain functions the web app and the tests call.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import func
from sqlmodel import Session, select

from tracker import migrate
from tracker.audit import record_event
from tracker.db import get_engine, session_scope
from tracker.lookups import NameLookupError
from tracker.models import ROLES, Agency, User
from tracker.seed import seed_reference
from tracker.users import UserError, create_user, generate_password, set_password

#: Domain errors shown as a one-line message (exit status 1), never as a traceback.
USER_ERRORS = (UserError, NameLookupError, migrate.SchemaNotCurrent, ValueError)


def _create_app() -> Flask:
    from tracker import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def main() -> None:
    """tracker: U.S. anti-trafficking funding, seen whole.

    Set TRACKER_DATABASE_URL to use PostgreSQL (postgresql+psycopg://user@host/db);
    by default the data is a SQLite file in the instance folder.
    """
    context = click.get_current_context()
    context.call_on_close(lambda: _close_database(context))


def _close_database(context: click.Context) -> None:
    """Close the database connections of the app the command loaded (if it loaded one)."""
    app = getattr(context.find_object(ScriptInfo), "_loaded_app", None)
    if app is not None and "tracker.engine" in app.extensions:
        app.extensions["tracker.engine"].dispose()


# FlaskGroup's own options (--app, --env-file, --debug) don't apply: the app is always ours.
main.params = [p for p in main.params if p.name not in {"app", "env_file", "debug"}]


def init_app(app: Flask) -> None:
    """Register the commands on the app (FlaskGroup lists them under `tracker`)."""
    for command in (db_group, seed_command, users_group, serve_command, import_command, totals_command,
                    obligations_command, reports_command, reconcile_command, flags_group, awareness_command,
                    coverage_command, export_command, backup_command, restore_command):
        app.cli.add_command(command)


@contextmanager
def _session() -> Iterator[Session]:
    """A committed-on-success session for a command, with domain errors shown plainly."""
    try:
        with session_scope(get_engine()) as session:
            yield session
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from exc


def _require_current() -> None:
    try:
        migrate.require_current(get_engine())
    except migrate.SchemaNotCurrent as exc:
        raise click.ClickException(str(exc)) from exc


# --- tracker db ---------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """Create and migrate the database schema (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: the latest)."""
    migrate.upgrade(get_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(get_engine()) or 'base'}")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (default: one step back; "base" removes every table)."""
    migrate.downgrade(get_engine(), revision)
    click.echo(f"database at revision {migrate.current_revision(get_engine()) or 'base'}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's revision and the latest one."""
    click.echo(f"database: {migrate.current_revision(get_engine()) or 'base (empty)'}")
    click.echo(f"latest:   {migrate.head_revision()}")


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """Fail if the models and the migrated database differ (a migration is missing)."""
    _require_current()
    differences = migrate.schema_differences(get_engine())
    if differences:
        for difference in differences:
            click.echo(f"  {difference}", err=True)
        raise click.ClickException("the models differ from the migrations: write a migration")
    click.echo("models and migrations agree")


# --- tracker seed -------------------------------------------------------------------------


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load reference data (agencies, offices, countries, implementers, programs); idempotent."""
    _require_current()
    with _session() as session:
        report = seed_reference(session, actor="cli")
    if not report.total:
        click.echo("reference data already complete: nothing added")
    for table, count in sorted(report.added.items()):
        click.echo(f"  {table}: {count} added")
    for conflict in report.conflicts:
        click.echo(f"  note: {conflict}", err=True)


# --- tracker users ------------------------------------------------------------------------


@click.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("username", required=False)
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--country", "countries", multiple=True, metavar="ISO3",
              help="A country in an embassy officer's scope (repeat for more).")
@click.option("--agency", metavar="CODE[/OFFICE]", help="The agency (or office) of agency staff.")
@click.option("--password", help="The password (default: a generated one, printed once).")
@click.option("--full-name", help="The user's name as shown in the app.")
@with_appcontext
def users_create(username: str | None, role: str, countries: tuple[str, ...], agency: str | None,
                 password: str | None, full_name: str | None) -> None:
    """Create a user. USERNAME defaults to the role name (admin, admin2, ...)."""
    _require_current()
    generated = password is None
    password = password or generate_password()
    with _session() as session:
        username = username or _free_username(session, role)
        create_user(session, username=username, role=role, password=password, countries=countries,
                    agency=agency, full_name=full_name, actor="cli")
    click.echo(f"created {role} user {username!r}")
    if generated:
        click.echo(f"password: {password}")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password", help="The new password (default: a generated one, printed once).")
@with_appcontext
def users_set_password(username: str, password: str | None) -> None:
    """Set a user's password."""
    _require_current()
    generated = password is None
    password = password or generate_password()
    with _session() as session:
        set_password(session, username=username, password=password, actor="cli")
    click.echo(f"password of {username!r} set" + (f": {password}" if generated else ""))


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users with their roles."""
    _require_current()
    with _session() as session:
        for user in session.exec(select(User).order_by(User.username)).all():
            click.echo(f"{user.username:20} {user.role:10} {'active' if user.active else 'inactive'}")


def _free_username(session: Session, base: str) -> str:
    taken = set(session.exec(select(User.username)).all())
    return next(name for name in (base, *(f"{base}{n}" for n in range(2, 10_000))) if name not in taken)


# --- tracker serve ------------------------------------------------------------------------


def prepare_database(app: Flask) -> list[str]:
    """Bring a database to the latest schema; on a new one, seed reference data and create the
    first administrator. Returns what was done, as lines for the console."""
    engine = get_engine(app)
    done: list[str] = []
    before = migrate.current_revision(engine)
    if before != migrate.head_revision():
        migrate.upgrade(engine)
        done.append(f"database {'created' if before is None else 'upgraded'} "
                    f"(revision {migrate.current_revision(engine)})")
    with session_scope(engine) as session:
        if not session.exec(select(func.count()).select_from(Agency)).one():
            report = seed_reference(session)
            done.append(f"reference data loaded ({report.total} rows)")
        if not session.exec(select(func.count()).select_from(User)).one():
            password = generate_password()
            create_user(session, username="admin", role="admin", password=password, actor="system",
                        full_name="First administrator")
            done.append(f'first administrator: sign in as "admin" with password {password} '
                        "(then create named accounts: tracker users create --help)")
    return done


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.option("--demo", is_flag=True, help="Load the sample scenario in imports/samples (and demo accounts) first.")
@with_appcontext
def serve_command(host: str, port: int, threads: int, demo: bool) -> None:
    """Serve the web app (waitress); on a new database, set it up first."""
    from waitress import create_server

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for line in prepare_database(app):
        click.echo(line)
    if demo:
        from tracker.demo import load_demo

        click.echo(load_demo(app))
    server = create_server(app, host=host, port=port, threads=threads, ident="tracker")  # listens now
    click.echo(f"database: {_safe_url(app.config['DATABASE_URL'])}")
    click.echo(f"tracker is running at http://{host}:{port}/  (Ctrl+C stops it)")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.close()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- tracker import -----------------------------------------------------------------------


def _fiscal_year_set(value: str | None) -> list[int] | None:
    if value is None:
        return None
    from tracker.fiscal import FiscalYearError, parse_fiscal_year_set

    try:
        return parse_fiscal_year_set(value, min_year=current_app.config["FISCAL_YEAR_MIN"],
                                     max_year=current_app.config["FISCAL_YEAR_MAX"])
    except FiscalYearError as exc:
        raise click.BadParameter(str(exc), param_hint="--fiscal-years") from exc


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--source", type=click.Choice(["agency", "embassy"]), required=True,
              help="agency: each row is an obligation; embassy: each row is what the post reports it knows of.")
@click.option("--agency", metavar="CODE[/OFFICE]", help="The reporting agency (and office) for rows that name none.")
@click.option("--country", metavar="ISO3-or-name", help="The post's country (embassy reports).")
@click.option("--fiscal-years", metavar="2005-2007",
              help="The fiscal years the file covers: 2007, 2005-2007 or 2005,2007.")
@click.option("--dry-run", is_flag=True, help="Check everything, store nothing.")
@click.option("--skip-invalid", is_flag=True, help="Store the valid rows and list the rows skipped.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@with_appcontext
def import_command(files: tuple[str, ...], source: str, agency: str | None, country: str | None,
                   fiscal_years: str | None, dry_run: bool, skip_invalid: bool, as_json: bool) -> None:
    """Import agency or embassy spreadsheets (.xlsx, .xlsm, .xls, .ods, .csv).

    A file commits whole or not at all; the same file again is "already-imported"; a newer file
    from the same source covering every year of an earlier one supersedes it.
    """
    from tracker.importing.pipeline import ImportRequest, import_and_commit
    from tracker.importing.results import ImportResult

    _require_current()
    config = current_app.config
    years = _fiscal_year_set(fiscal_years)
    all_ok = True
    for path in files:
        request = ImportRequest(path=path, filename=os.path.basename(path), source=source, agency=agency,
                                country=country, fiscal_years=years, dry_run=dry_run,
                                skip_invalid=skip_invalid, actor="cli", fy_min=config["FISCAL_YEAR_MIN"],
                                fy_max=config["FISCAL_YEAR_MAX"],
                                progress=None if as_json else _progress_printer(os.path.basename(path)))
        if not os.path.isfile(path):
            from tracker.importing.pipeline import file_issue

            result = ImportResult(file=os.path.basename(path))
            result.error(file_issue(f"no such file: {path}"))
        else:
            with Session(get_engine(), expire_on_commit=False) as session:
                result = import_and_commit(session, request)
        all_ok = all_ok and result.ok
        if as_json:
            click.echo(json.dumps(result.as_json(), default=_json_default, ensure_ascii=False))
        else:
            click.echo(result.as_text())
    if not all_ok:
        sys.exit(1)


def _progress_printer(name: str):  # type: ignore[no-untyped-def]
    def show(done: int, total: int | None) -> None:
        if done % 5000:
            return
        of = f" of about {total:,}" if total else ""
        click.echo(f"  {name}: {done:,} rows{of}...", err=True)

    return show


def _json_default(value: object) -> str:
    from datetime import date
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# --- tracker totals, obligations, reports -------------------------------------------------


def _filters(fiscal_years: tuple[int, ...], agencies: tuple[str, ...], countries: tuple[str, ...],
             programs: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    from tracker.countries import CountryResolver
    from tracker.models import Program
    from tracker.reporting import RecordFilters

    with _session() as session:
        resolver = CountryResolver.load(session)
        codes = [resolver.resolve(c) for c in countries]
        known_agencies = set(session.exec(select(Agency.code)).all())
        known_programs = set(session.exec(select(Program.code)).all())
    agencies = tuple(a.upper() for a in agencies)
    for option, given, known in (("--agency", agencies, known_agencies), ("--program", programs, known_programs)):
        unknown = [g for g in given if g not in known]
        if unknown:
            raise click.BadParameter(f"unknown {', '.join(unknown)}; choose from {', '.join(sorted(known))}",
                                     param_hint=option)
    return RecordFilters(fiscal_years=list(fiscal_years), agencies=list(agencies), countries=codes,
                         programs=list(programs))


def _filter_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--fiscal-year", "fiscal_years", multiple=True, type=int, help="Only this fiscal year (repeatable).")(fn)
    fn = click.option("--agency", "agencies", multiple=True, help="Only this agency code (repeatable).")(fn)
    fn = click.option("--country", "countries", multiple=True, help="Only this country or place (repeatable).")(fn)
    return fn


@click.command("totals")
@click.option("--by", "by", default="fiscal_year,agency,country", show_default=True,
              help="Comma-separated groupings: fiscal_year, agency, office, country, region, program, implementer, status.")
@_filter_options
@click.option("--program", "programs", multiple=True, help="Only this program code (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {grouping..., amount}.")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD[THH:MM]",
              help="Totals as they stood then (UTC; a date alone means the end of that day), rebuilt from the "
                   "audit trail and the submission history.")
@with_appcontext
def totals_command(by: str, fiscal_years: tuple[int, ...], agencies: tuple[str, ...], countries: tuple[str, ...],
                   programs: tuple[str, ...], as_json: bool, as_of: str | None = None) -> None:
    """Sum obligations (agency records, as recorded) by fiscal year, agency, country and more.

    Obligated amounts and de-obligations count; proposed ones and superseded files do not.
    Embassy report rows are never money and never summed.
    """
    from tracker.money import format_money
    from tracker.dates import parse_as_of
    from tracker.reporting import totals

    _require_current()
    groups = [b.strip() for b in by.split(",") if b.strip()]
    filters = _filters(fiscal_years, agencies, countries, programs)
    try:
        moment = parse_as_of(as_of) if as_of else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from exc
    with _session() as session:
        rows = totals(session, groups, filters, as_of=moment)
    if as_json:
        click.echo(json.dumps(rows, default=_json_default, indent=1))
        return
    for row in rows:
        keys = "  ".join(f"{row[g] if row[g] is not None else '-':<14}" for g in groups)
        click.echo(f"{keys}  {format_money(row['amount']):>18}")
    grand = sum((r["amount"] for r in rows), start=__import__("decimal").Decimal("0.00"))
    click.echo(f"{'total':<{16 * len(groups)}}{format_money(grand):>18}")


@click.command("obligations")
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of obligations with provenance.")
@with_appcontext
def obligations_command(fiscal_years: tuple[int, ...], agencies: tuple[str, ...], countries: tuple[str, ...],
                        as_json: bool) -> None:
    """List stored obligations (current records) with their provenance (file, sheet, row)."""
    from tracker.reporting import list_obligations

    _require_current()
    filters = _filters(fiscal_years, agencies, countries)
    with _session() as session:
        rows = list_obligations(session, filters)
    _print_records(rows, as_json, ("id", "fiscal_year", "office", "country", "implementer", "title", "amount"))


@click.command("reports")
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of embassy report rows with provenance.")
@with_appcontext
def reports_command(fiscal_years: tuple[int, ...], agencies: tuple[str, ...], countries: tuple[str, ...],
                    as_json: bool) -> None:
    """List embassy report rows (what posts say they know of; never money) with provenance."""
    from tracker.reporting import list_reports

    _require_current()
    filters = _filters(fiscal_years, agencies, countries)
    with _session() as session:
        rows = list_reports(session, filters)
    _print_records(rows, as_json, ("id", "fiscal_year", "country", "office", "implementer", "title", "amount"))


def _print_records(rows: list[dict], as_json: bool, shown: tuple[str, ...]) -> None:  # type: ignore[type-arg]
    if as_json:
        click.echo(json.dumps(rows, default=_json_default, indent=1, ensure_ascii=False))
        return
    for row in rows:
        click.echo("  ".join(str(row[k] if row[k] is not None else "-")[:40] for k in shown)
                   + f"  [{row['file']}:{row['sheet'] or ''}:{row['row']}]")
    click.echo(f"{len(rows)} records")


# --- tracker reconcile, flags, awareness, coverage ----------------------------------------


def _one_country(country: str | None) -> str | None:
    if country is None:
        return None
    from tracker.countries import CountryResolver

    with _session() as session:
        return CountryResolver.load(session).resolve(country)


@click.command("reconcile")
@click.option("--country", help="Only this country or place.")
@click.option("--fiscal-year", type=int, help="Only this fiscal year.")
@with_appcontext
def reconcile_command(country: str | None, fiscal_year: int | None) -> None:
    """Recompute matches and flags (it also runs after every import), keeping reviewers' decisions."""
    from sqlalchemy import select as sa_select

    from tracker.models import EmbassyReportRow, Obligation
    from tracker.reconcile import reconcile

    _require_current()
    code = _one_country(country)
    with _session() as session:
        blocks = None
        if code or fiscal_year:
            blocks = set()
            for model in (Obligation, EmbassyReportRow):
                query = sa_select(model.country_code, model.fiscal_year).distinct()
                if code:
                    query = query.where(model.country_code == code)
                if fiscal_year:
                    query = query.where(model.fiscal_year == fiscal_year)
                blocks |= {(c, y) for c, y in session.execute(query)}
        report = reconcile(session, blocks, actor="cli")
        scope = f" ({code or 'all countries'}, {fiscal_year or 'all years'})" if blocks is not None else ""
        record_event(session, action="reconcile", actor="cli", summary=f"reconciled {report.blocks} country-years{scope}",
                     after={"country_years": report.blocks, "matches": report.matches, "opened": report.opened,
                            "reopened": report.reopened, "closed": report.closed,
                            "flags_by_type": report.flags_by_type})
    click.echo(f"reconciled {report.blocks} country-years: {report.matches} matches; flags {report.opened} new, "
               f"{report.reopened} reopened, {report.closed} closed")
    for kind, count in sorted(report.flags_by_type.items()):
        click.echo(f"  {kind}: {count}")


@click.group("flags", invoke_without_command=True)
@click.option("--type", "types", multiple=True, help="Only this flag type (repeatable).")
@click.option("--status", "statuses", multiple=True, help="open or decided (repeatable).")
@click.option("--country", "countries", multiple=True, help="Only this country or place (repeatable).")
@click.option("--fiscal-year", "fiscal_years", multiple=True, type=int, help="Only this fiscal year (repeatable).")
@click.option("--all", "include_inactive", is_flag=True, help="Include flags whose condition no longer holds.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of flags with their records.")
@click.pass_context
@with_appcontext
def flags_group(ctx: click.Context, types: tuple[str, ...], statuses: tuple[str, ...], countries: tuple[str, ...],
                fiscal_years: tuple[int, ...], include_inactive: bool, as_json: bool) -> None:
    """List flags: questions for reviewers (duplicates, unaware funding, mismatches, ceilings)."""
    if ctx.invoked_subcommand is not None:
        return
    from tracker.countries import CountryResolver
    from tracker.flags import FlagFilters, list_flags

    _require_current()
    with _session() as session:
        resolver = CountryResolver.load(session)
        filters = FlagFilters(types=types, statuses=statuses, countries=tuple(resolver.resolve(c) for c in countries),
                              fiscal_years=fiscal_years, include_inactive=include_inactive)
        flags = list_flags(session, filters)
    if as_json:
        click.echo(json.dumps(flags, default=_json_default, indent=1, ensure_ascii=False))
        return
    for flag in flags:
        click.echo(f"#{flag['id']} {flag['type']} [{flag['status']}] {flag['explanation']}")
        for record in flag["records"]:
            click.echo(f"    {record['kind']} {record['id']}: {record['file']} {record['sheet']} row {record['row']}")
    click.echo(f"{len(flags)} flags")


@flags_group.command("decide")
@click.argument("flag_id", type=int)
@click.option("--decision", type=click.Choice(["confirmed", "not_a_problem", "explained", "follow_up"]), required=True)
@click.option("--comment", required=True, help="Why (kept with the flag).")
@click.option("--by", "username", help="The reviewer (a username).")
@click.option("--gao", "gao_class", type=click.Choice(["fragmentation", "overlap", "duplication"]),
              help="GAO's classification, for duplicate-funding flags.")
@click.option("--effect", help="What the decision changes, e.g. 'funds redirected', 'no change'.")
@with_appcontext
def flags_decide(flag_id: int, decision: str, comment: str, username: str | None, gao_class: str | None,
                 effect: str | None) -> None:
    """Decide a flag; the decision stays with it until its evidence changes."""
    from tracker.flags import FlagError, decide_flag

    _require_current()
    try:
        with _session() as session:
            user = None
            if username:
                user = session.exec(select(User).where(User.username == username)).first()
                if user is None:
                    raise FlagError(f"there is no user called {username!r}")
            decide_flag(session, flag_id, decision=decision, comment=comment, by=user, actor="cli",
                        gao_class=gao_class, effect=effect)
    except FlagError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"flag {flag_id}: {decision}")


@click.command("awareness")
@click.option("--country", help="Only this country.")
@click.option("--fiscal-year", type=int, help="Only this fiscal year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def awareness_command(country: str | None, fiscal_year: int | None, as_json: bool) -> None:
    """Per post and year reported: the share of agency obligations the post's report lists."""
    from tracker.reconcile import awareness

    _require_current()
    code = _one_country(country)
    with _session() as session:
        rows = awareness(session, code, fiscal_year)
    if as_json:
        click.echo(json.dumps(rows, default=_json_default, indent=1))
        return
    for row in rows:
        share = "-" if row["share_by_count"] is None else f"{row['share_by_count']:.0%}"
        dollars = "-" if row["share_by_dollars"] is None else f"{row['share_by_dollars']:.0%}"
        click.echo(f"{row['country']} FY{row['fiscal_year']}: lists {row['listed']} of {row['obligations']} "
                   f"obligations ({share}; {dollars} of dollars)")


@click.command("coverage")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def coverage_command(as_json: bool) -> None:
    """Which posts have reported which fiscal years (so a missing report is never read as unawareness)."""
    from tracker.reconcile import covered_blocks

    _require_current()
    with _session() as session:
        blocks = sorted(covered_blocks(session))
    by_country: dict[str, list[int]] = {}
    for country, year in blocks:
        by_country.setdefault(country, []).append(year)
    if as_json:
        click.echo(json.dumps([{"country": c, "fiscal_years": y} for c, y in by_country.items()], indent=1))
        return
    for country, years in by_country.items():
        click.echo(f"{country}: " + ", ".join(f"FY{y}" for y in years))


# --- tracker export -----------------------------------------------------------------------


@click.command("export")
@click.argument("out", required=False, type=click.Path(dir_okay=False))
@_filter_options
@click.option("--program", "programs", multiple=True, help="Only this program code (repeatable).")
@with_appcontext
def export_command(out: str | None, fiscal_years: tuple[int, ...], agencies: tuple[str, ...],
                   countries: tuple[str, ...], programs: tuple[str, ...]) -> None:
    """Write the budget workbook (Summary, Obligations, Flags, Unaware, Initiative ledger,
    Coverage, About); OUT defaults to a dated file in exports/."""
    from datetime import datetime

    from tracker.exporting import budget_workbook
    from tracker.reporting import BrowseQuery

    _require_current()
    filters = _filters(fiscal_years, agencies, countries, programs)
    if out is None:
        folder = current_app.config["EXPORT_FOLDER"]
        os.makedirs(folder, exist_ok=True)
        out = os.path.join(folder, f"tracker-{datetime.now():%Y-%m-%d-%H%M%S}.xlsx")
    with _session() as session:
        query = BrowseQuery(fiscal_years=filters.fiscal_years, agencies=filters.agencies, countries=filters.countries,
                            programs=filters.programs, sort="fiscal_year")
        held = budget_workbook(session, query, out, by="command line")
    click.echo(f"{out}: {held['obligations']:,} obligations, total {held['total']:,.2f}")


# --- tracker backup, restore --------------------------------------------------------------


@click.command("backup")
@click.argument("out", required=False, type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(out: str | None) -> None:
    """Back up the whole database to OUT (default: instance/backups/tracker-DATE-TIME.sqlite3,
    or .pgdump on PostgreSQL). Safe while the app runs: the copy is one consistent snapshot."""
    from tracker.backup import BackupError, backup, default_backup_path

    url = current_app.config["DATABASE_URL"]
    try:
        info = backup(url, out or default_backup_path(current_app.instance_path, url))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up {_safe_url(url)} to {info.describe()}")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(file: str, yes: bool) -> None:
    """Replace everything in the database with the backup FILE (made by `tracker backup`).

    The file is checked first; a refused or failed restore leaves the database as it was.
    Stop `tracker serve` first: sessions in progress would see the data change under them.
    """
    from tracker.backup import BackupError, audit_restore, inspect_backup, restore

    url = current_app.config["DATABASE_URL"]
    try:
        info = inspect_backup(file)
        if not yes:
            click.confirm(f"Replace everything in {_safe_url(url)} with {info.describe()}?", abort=True)
        get_engine().dispose()  # no pooled connection of ours holds the old database open
        restore(url, file)
        audit_restore(url, info, actor="cli")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        get_engine().dispose()
    click.echo(f"restored {info.describe()}")
    if info.revision != migrate.head_revision():
        click.echo(f"the backup is at revision {info.revision}, not the latest {migrate.head_revision()}: "
                   "run `tracker db upgrade`")
