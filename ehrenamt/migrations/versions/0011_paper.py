"""paper applications and letters

Revision ID: 0011
Revises: 0010
Staff enter paper applications (people and organisations may lack an e-mail address);
notices to people without e-mail become letters in the office's outbox to print.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # user_account.email became optional in 0010 (holders of imported paper cards).
    with op.batch_alter_table("engagement") as batch_op:
        batch_op.alter_column("contact_email", existing_type=sa.String(length=254), nullable=True)
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("entered_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_application_entered_by_id_user_account", "user_account", ["entered_by_id"], ["id"]
        )
    with op.batch_alter_table("office") as batch_op:
        batch_op.add_column(
            sa.Column("postal_address", sa.Text(), server_default="", nullable=False)
        )
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("printed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name="fk_letter_application_id_application",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["card.id"], name="fk_letter_card_id_card", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name="fk_letter_office_id_office"),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["user_account.id"], name="fk_letter_recipient_id_user_account"
        ),
        sa.ForeignKeyConstraint(
            ["printed_by_id"], ["user_account.id"], name="fk_letter_printed_by_id_user_account"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_letter"),
        sa.UniqueConstraint("public_id", name="uq_letter_public_id"),
    )
    with op.batch_alter_table("card") as batch_op:
        batch_op.add_column(sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "print_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "layout",
            sa.Enum(
                "sheet",
                "card_printer",
                name="printlayout",
                native_enum=False,
                length=20,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "ready",
                "failed",
                "posted",
                name="printrunstate",
                native_enum=False,
                length=20,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name="fk_print_run_office_id_office"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name="fk_print_run_created_by_id_user_account"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_print_run"),
        sa.UniqueConstraint("public_id", name="uq_print_run_public_id"),
    )
    op.create_index("ix_print_run_office_id", "print_run", ["office_id"])
    op.create_table(
        "print_run_card",
        sa.Column("print_run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["print_run_id"],
            ["print_run.id"],
            name="fk_print_run_card_print_run_id_print_run",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["card.id"], name="fk_print_run_card_card_id_card", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("print_run_id", "position", name="pk_print_run_card"),
    )
    op.create_index("ix_print_run_card_card", "print_run_card", ["card_id"])
    op.create_index("ix_letter_waiting", "letter", ["office_id", "printed_at", "id"])
    op.create_index("ix_letter_recipient_id", "letter", ["recipient_id"])
    op.create_index("ix_letter_application_id", "letter", ["application_id"])


def downgrade():
    op.drop_index("ix_print_run_card_card", table_name="print_run_card")
    op.drop_table("print_run_card")
    op.drop_index("ix_print_run_office_id", table_name="print_run")
    op.drop_table("print_run")
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_column("posted_at")
    op.drop_index("ix_letter_application_id", table_name="letter")
    op.drop_index("ix_letter_recipient_id", table_name="letter")
    op.drop_index("ix_letter_waiting", table_name="letter")
    op.drop_table("letter")
    with op.batch_alter_table("office") as batch_op:
        batch_op.drop_column("postal_address")
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_constraint("fk_application_entered_by_id_user_account", type_="foreignkey")
        batch_op.drop_column("entered_by_id")
    with op.batch_alter_table("engagement") as batch_op:
        batch_op.alter_column("contact_email", existing_type=sa.String(length=254), nullable=False)
