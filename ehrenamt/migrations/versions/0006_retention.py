"""retention

Revision ID: 0006
Revises: 0005
Data protection (issue #11): the office's retention periods, kept with its programme
rules; the numbers of deleted revoked cards, kept for the revocation list; the counts
of the deletion report and the job's runs; the office's privacy notice in versions, and
the version each application was given.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PERIODS = (
    ("retention_decided_months", "6"),
    ("retention_card_months", "12"),
    ("retention_unconfirmed_days", "30"),
    ("retention_check_days", "90"),
)


def upgrade():
    with op.batch_alter_table("programme_rules") as batch_op:
        for name, default in _PERIODS:
            batch_op.add_column(
                sa.Column(name, sa.Integer(), server_default=default, nullable=False)
            )

    op.create_table(
        "retained_revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("revocation_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name="fk_retained_revocation_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_retained_revocation"),
        sa.UniqueConstraint("number", name="uq_retained_revocation_number"),
    )
    with op.batch_alter_table("retained_revocation") as batch_op:
        for column in ("office_id", "valid_until", "revocation_version"):
            batch_op.create_index(f"ix_retained_revocation_{column}", [column], unique=False)

    op.create_table(
        "deletion_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name="fk_deletion_count_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deletion_count"),
        sa.UniqueConstraint(
            "office_id", "kind", "month", name="uq_deletion_count_office_id_kind_month"
        ),
    )
    with op.batch_alter_table("deletion_count") as batch_op:
        batch_op.create_index("ix_deletion_count_office_id", ["office_id"], unique=False)
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retention_run"),
    )
    with op.batch_alter_table("retention_run") as batch_op:
        batch_op.create_index("ix_retention_run_started_at", ["started_at"], unique=False)
    op.create_table(
        "privacy_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name="fk_privacy_notice_office_id_office"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_notice"),
        sa.UniqueConstraint("office_id", "version", name="uq_privacy_notice_office_id_version"),
    )
    # A nullable column without default: no table rewrite on PostgreSQL. On SQLite a
    # plain ADD COLUMN with its reference (batch mode would copy the table, and with it
    # could lose the partial indexes' conditions).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE application ADD COLUMN privacy_notice_id INTEGER "
            "CONSTRAINT fk_application_privacy_notice_id_privacy_notice "
            "REFERENCES privacy_notice (id)"
        )
    else:
        op.add_column("application", sa.Column("privacy_notice_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_application_privacy_notice_id_privacy_notice",
            "application",
            "privacy_notice",
            ["privacy_notice_id"],
            ["id"],
        )
    # Deleting a card detaches its check records: without this, a scan of them all.
    op.create_index("ix_verification_card_id", "verification", ["card_id"], unique=False)


def downgrade():
    op.drop_index("ix_verification_card_id", table_name="verification")
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_column("privacy_notice_id")
    op.drop_table("privacy_notice")
    op.drop_table("retention_run")
    op.drop_table("deletion_count")
    op.drop_table("retained_revocation")
    with op.batch_alter_table("programme_rules") as batch_op:
        for name, _default in reversed(_PERIODS):
            batch_op.drop_column(name)
