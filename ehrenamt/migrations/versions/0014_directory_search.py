"""directory search: folded search text and place

Revision ID: 0014
Revises: 0013
The directory's search is tolerant of spelling ("Rosslau" finds "Roßlau", "Baeckerei"
and "backerei" find "Bäckerei"): the stored text is folded at write time by
core.text.searchable_text, and the partner's town gets a folded column of its own for the
place filter. This recomputes both for the benefits already stored. Results are paged by
partner, so benefits get an index by partner.

"""

from alembic import op
import sqlalchemy as sa

from ehrenamt.core.text import searchable_text


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: Benefits recomputed per round trip.
BATCH = 1000

benefit = sa.table(
    "benefit",
    sa.column("id", sa.Integer),
    sa.column("partner_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("description", sa.Text),
    sa.column("conditions", sa.Text),
    sa.column("search_text", sa.Text),
    sa.column("place_text", sa.Text),
)
partner = sa.table(
    "partner",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("town", sa.String),
)


def upgrade():
    with op.batch_alter_table("benefit") as batch_op:
        batch_op.add_column(sa.Column("place_text", sa.Text(), server_default="", nullable=False))
        batch_op.create_index("ix_benefit_partner", ["partner_id", "published"])
    recompute(op.get_bind())


def recompute(bind: sa.engine.Connection) -> None:
    """Fold every benefit's search text and place again, in batches by id."""
    update = (
        benefit.update()
        .where(benefit.c.id == sa.bindparam("benefit_id"))
        .values(search_text=sa.bindparam("search"), place_text=sa.bindparam("place"))
    )
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(
                benefit.c.id,
                benefit.c.title,
                benefit.c.description,
                benefit.c.conditions,
                partner.c.name,
                partner.c.town,
            )
            .join(partner, partner.c.id == benefit.c.partner_id)
            .where(benefit.c.id > last_id)
            .order_by(benefit.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            update,
            [
                {
                    "benefit_id": row.id,
                    "search": searchable_text(
                        row.title, row.description, row.conditions, row.name, row.town
                    ),
                    "place": " " + searchable_text(row.town),
                }
                for row in rows
            ],
        )
        last_id = rows[-1].id


def downgrade():
    # The folded search text stays: it is still lower case, which the older search reads.
    with op.batch_alter_table("benefit") as batch_op:
        batch_op.drop_index("ix_benefit_partner")
        batch_op.drop_column("place_text")
