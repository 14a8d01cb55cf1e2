"""``flask ehrenamt …``: setting up offices and staff, demo data, operations."""

from __future__ import annotations

from decimal import Decimal

import click
import pyotp
from sqlalchemy import select

from ehrenamt.accounts import users
from ehrenamt.core import outbox
from ehrenamt.extensions import db
from ehrenamt.keys_cli import keys
from ehrenamt.models import Office, User, UserRole
from ehrenamt.offices.rules import PRESETS
from ehrenamt.offices.setup import create_office
from ehrenamt.partners import benefits as partners_benefits
from ehrenamt.partners import categories as partners_categories
from ehrenamt.partners import geocoding, registration
from ehrenamt.workflow import mermaid_diagram

cli = click.Group("ehrenamt", help="Ehrenamtskarte administration.")

#: Fixed demo credentials, printed by the launcher. Only ever created by ``seed-demo``.
DEMO_PASSWORD = "demo-passwort-2026"  # noqa: S105 - printed demo credentials, by design
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - as above
DEMO_ACCOUNTS = [
    ("sachbearbeitung@demo.example.org", UserRole.CLERK, "Sachbearbeitung Demo"),
    ("admin@demo.example.org", UserRole.ADMIN, "Admin Demo"),
    ("partner@demo.example.org", UserRole.PARTNER, "Stadtmuseum Demo"),
    ("ehrenamt@demo.example.org", UserRole.VOLUNTEER, "Erika Ehrenamt"),
]


@cli.command("create-office")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@click.option("--email", "contact_email", required=True)
@click.option(
    "--preset", type=click.Choice(sorted(PRESETS)), default="dessau_rosslau", show_default=True
)
@click.option("--postcodes", default="", help="Postcodes of the office's area, space-separated.")
def create_office_command(
    name: str, slug: str, contact_email: str, preset: str, postcodes: str
) -> None:
    """Create an issuing office."""
    office = create_office(name, slug, contact_email, preset, postcodes)
    db.session.commit()
    click.echo(f"office {office.slug} created (id {office.id})")


@cli.command("create-staff")
@click.option("--email", required=True)
@click.option("--office", "office_slug", required=True)
@click.option(
    "--role",
    type=click.Choice(["clerk", "admin", "programme_admin"]),
    default="clerk",
    show_default=True,
    help="A programme_admin starts in --office and can switch to any office.",
)
@click.option("--name", default="")
@click.password_option()
def create_staff(email: str, office_slug: str, role: str, name: str, password: str) -> None:
    """Create a clerk, office admin or programme admin; they set up TOTP at their first
    sign-in."""
    office = db.session.scalar(select(Office).where(Office.slug == office_slug))
    if office is None:
        raise click.ClickException(f"no office {office_slug!r}")
    if users.find_user(email):
        raise click.ClickException(f"{email} has an account already")
    users.create_user(
        email,
        UserRole(role),
        password=password,
        office=office,
        display_name=name,
        email_confirmed=True,
    )
    db.session.commit()
    click.echo(f"{role} {email} created for {office.name}")


def seed_demo() -> bool:
    """Create the demo office and accounts unless an office exists; True if created."""
    if db.session.scalar(select(Office).limit(1)) is not None:
        return False
    office = create_office(
        "Stadt Dessau-Roßlau (Demo)",
        "dessau-rosslau",
        "ehrenamtskarte@demo.example.org",
        "dessau_rosslau",
        postcodes="06842 06844 06846 06847 06849 06861 06862",
    )
    for email, role, name in DEMO_ACCOUNTS:
        staff = role in (UserRole.CLERK, UserRole.ADMIN)
        users.create_user(
            email,
            role,
            password=DEMO_PASSWORD,
            office=office if role != UserRole.VOLUNTEER else None,
            display_name=name,
            totp_secret=DEMO_TOTP_SECRET if staff else None,
            email_confirmed=True,
        )
    db.session.commit()
    _seed_demo_partner(office)
    return True


def _seed_demo_partner(office: Office) -> None:
    """The demo partner account's approved partner, with two benefits."""
    categories = {c.slug: c.id for c in partners_categories.ensure_categories()}
    account = users.find_user("partner@demo.example.org")
    assert account is not None  # created from DEMO_ACCOUNTS just before
    registration.create_approved_partner(
        office,
        registration.PartnerInput(
            name="Stadtmuseum Dessau (Demo)",
            category_id=categories["bildung-kultur-unterhaltung"],
            street="Askanische Straße 32",
            postcode="06842",
            town="Dessau-Roßlau",
            email="partner@demo.example.org",
            website="https://example.org/stadtmuseum",
            latitude=Decimal("51.834000"),
            longitude=Decimal("12.245000"),
        ),
        [
            partners_benefits.BenefitInput("Freier Eintritt in die Dauerausstellung"),
            partners_benefits.BenefitInput(
                "10 % Rabatt im Museumsshop", conditions="Gegen Vorlage der Ehrenamtskarte"
            ),
        ],
        account,
    )


def demo_credentials() -> str:
    """The demo accounts as text, for the launcher to print."""
    lines = [
        f"  {role.value:<10} {email}   Passwort: {DEMO_PASSWORD}"
        for email, role, _ in DEMO_ACCOUNTS
    ]
    lines.append(f"  TOTP-Geheimnis der Mitarbeitenden: {DEMO_TOTP_SECRET}")
    lines.append(
        f"  aktueller Code: .venv/bin/flask --app ehrenamt ehrenamt totp-code {DEMO_ACCOUNTS[0][0]}"
    )
    return "\n".join(lines)


@cli.command("seed-demo")
def seed_demo_command() -> None:
    """Create a demo office with demo staff, partner and volunteer accounts."""
    if seed_demo():
        click.echo("demo data created:\n" + demo_credentials())
    else:
        click.echo("an office exists already; nothing created")


@cli.command("totp-code")
@click.argument("email")
def totp_code(email: str) -> None:
    """Print the current TOTP code of a staff account (for the demo and support)."""
    user = users.find_user(email)
    if user is None or not user.totp_secret:
        raise click.ClickException("no such account with a second factor")
    click.echo(pyotp.TOTP(user.totp_secret).now())


@cli.command("dispatch-outbox")
def dispatch_outbox() -> None:
    """Hand every pending outbox message to the broker now."""
    click.echo(f"{outbox.dispatch_pending()} message(s) handed over")


@cli.command("workflow-diagram")
def workflow_diagram() -> None:
    """Print the application workflow as a Mermaid diagram (for the README)."""
    click.echo(mermaid_diagram())


@cli.command("deactivate-user")
@click.argument("email")
def deactivate_user(email: str) -> None:
    """Sign a user out everywhere and block further sign-ins."""
    user: User | None = users.find_user(email)
    if user is None:
        raise click.ClickException("no such account")
    user.active = False
    user.session_version += 1
    db.session.commit()
    click.echo(f"{email} deactivated")


partners = click.Group("partners", help="Partners (Akzeptanzstellen).")


@partners.command("locate")
def locate_partners() -> None:
    """Fill missing coordinates of partners from their postcodes (the shipped table)."""
    located, unknown = geocoding.locate_missing_partners()
    # Counts only: the partners' names stay out of logs and terminals.
    click.echo(f"{located} partner(s) located, {unknown} with a postcode the table does not know")


cli.add_command(keys)
cli.add_command(partners)
