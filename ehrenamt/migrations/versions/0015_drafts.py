"""drafts of the application form

Revision ID: 0015
Revises: 0014
An applicant saves the application form unfinished and continues it from an e-mailed
link or the account; a draft lives DRAFT_MAX_AGE_DAYS after its last save.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "application_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_application_draft_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_draft")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_application_draft_token_hash")),
    )
    with op.batch_alter_table("application_draft") as batch_op:
        batch_op.create_index(batch_op.f("ix_application_draft_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_draft_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_application_draft_expires_at"), ["expires_at"], unique=False
        )


def downgrade():
    op.drop_table("application_draft")
