"""legacy cards

Revision ID: 0010
Revises: 0009
Cards a town issued on paper are imported with the numbers printed on them
(card.legacy_number), from files whose progress legacy_import keeps; holders of old
cards may have no e-mail address (user_account.email becomes optional).

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "legacy_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("file_kind", sa.String(length=10), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "checked",
                "importing",
                "done",
                "failed",
                name="legacyimportstate",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created_cards", sa.Integer(), nullable=False),
        sa.Column("skipped_rows", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_legacy_import_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_legacy_import_office_id_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_import")),
        sa.UniqueConstraint("public_id", name=op.f("uq_legacy_import_public_id")),
    )
    with op.batch_alter_table("legacy_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legacy_import_office_id"), ["office_id"], unique=False)
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legacy_number", sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_card_legacy_number"), ["legacy_number"])
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_card_legacy_number"), type_="unique")
        batch_op.drop_column("legacy_number")
    with op.batch_alter_table("legacy_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legacy_import_office_id"))
    op.drop_table("legacy_import")
