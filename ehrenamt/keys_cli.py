"""``flask ehrenamt keys …``: the Ed25519 keys that sign the cards' QR codes."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cards import keys as cards_keys

keys = click.Group("keys", help="Keys that sign the cards' QR codes.")


@keys.command("generate")
@with_appcontext
def generate() -> None:
    """Create a key pair; it signs new cards unless CARD_SIGNING_KEY_ID names another."""
    key = cardformat_keys.generate_key(cards_keys.keys_folder())
    click.echo(key.kid)


@keys.command("list")
@with_appcontext
def list_keys() -> None:
    """Every published key: id, created, whether it can still sign, which one signs."""
    ring = _key_ring()
    if not ring.keys:
        click.echo("no keys: run `flask ehrenamt keys generate`")
    never = datetime.max.replace(tzinfo=UTC)
    for key in sorted(ring.keys.values(), key=lambda k: (k.created_at or never, k.kid)):
        created = key.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") if key.created_at else "-"
        private = "environment" if key.from_environment else "yes" if key.private_key else "no"
        active = "active" if key.kid == ring.active_kid else ""
        line = f"{key.kid}  created {created:<23}  private key: {private:<11}  {active}"
        click.echo(line.rstrip())
    if ring.active_kid and ring.active_kid not in ring.keys:
        click.echo(f"CARD_SIGNING_KEY_ID names {ring.active_kid}, which is not in the key folder")


@keys.command("retire")
@click.argument("kid")
@with_appcontext
def retire(kid: str) -> None:
    """Stop signing with KID; cards it signed stay verifiable (its public key stays)."""
    ring = _key_ring()
    kid = kid.strip().lower()
    key = ring.keys.get(kid)
    if key is None:
        raise click.ClickException(f"no key {kid}")
    if kid == current_app.config.get("CARD_SIGNING_KEY_ID"):
        raise click.ClickException(f"{kid} is CARD_SIGNING_KEY_ID: configure another key first")
    cardformat_keys.retire_key(cards_keys.keys_folder(), ring, kid)
    if key.from_environment:
        click.echo(
            f"public key of {kid} saved in the key folder; "
            "now remove EHRENAMT_CARD_SIGNING_KEY from the environment"
        )
        return
    active = _key_ring().active_kid
    click.echo(f"{kid} retired; new cards are signed by {active or 'no key (generate one)'}")


def _key_ring() -> cardformat_keys.KeyRing:
    """The app's key ring; a misconfigured environment key is a clear error, not a trace."""
    try:
        return cards_keys.load_key_ring()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
