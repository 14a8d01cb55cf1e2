"""export

Revision ID: 0007
Revises: 0006
A volunteer's rights over their data (issue #11): data exports (DSGVO Art. 15/20), and
corrections (Art. 16): a new e-mail address waiting for its link, name change requests.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "ready",
                "failed",
                name="exportstate",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_data_export_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_export")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_export_public_id")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_data_export_stored_name")),
    )
    with op.batch_alter_table("data_export") as batch_op:
        batch_op.create_index(batch_op.f("ix_data_export_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_export_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "email_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_email_change_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_change")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_change_token_hash")),
    )
    with op.batch_alter_table("email_change") as batch_op:
        batch_op.create_index(batch_op.f("ix_email_change_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_email_change_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "name_change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "applied",
                "declined",
                name="namechangestate",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_name_change_request_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_name_change_request_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_name_change_request_office_id_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_change_request")),
    )
    with op.batch_alter_table("name_change_request") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_name_change_request_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            "ix_name_change_request_office", ["office_id", "state", "id"], unique=False
        )


def downgrade():
    op.drop_table("name_change_request")
    op.drop_table("email_change")
    op.drop_table("data_export")
