"""Marketing: the suppression list and the customers a campaign may write to, each counted by why not."""

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.defs.automation import EAGER_OVER_FILES
from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import MARKETING
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import raw_files
from recsys_assets.emails.recipients import example_domains, reason_counts, recipient_reasons
from recsys_assets.formats.tables import SUPPRESSION_COLUMNS, empty_table
from recsys_assets.resources.campaign import CampaignRules
from recsys_assets.resources.profile_store import ProfileStore

# metadata keys the run summary reads
REASON_COUNTS = "reason_counts"
EXAMPLE_ADDRESSES = "example_domain_addresses"


@asset(group_name=MARKETING, check_specs=[schema_check_spec("suppressions")], automation_condition=EAGER_OVER_FILES)
def suppressions(context: AssetExecutionContext, file_suppressions: dict[str, pd.DataFrame], profiles: ProfileStore):
    """Every suppressed address and customer: each suppression file of the inbox, in file order, then the profile
    store's suppression list; a suppression always wins over consent."""
    order = context.instance.get_dynamic_partitions(raw_files.name)
    frames = [file_suppressions[key] for key in order if key in file_suppressions]
    table = pd.concat([empty_table(SUPPRESSION_COLUMNS), *frames, profiles.suppressions()], ignore_index=True)
    table = table[list(SUPPRESSION_COLUMNS)].astype({"source_line": "int64"})
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            suppressed_addresses=int(table["email"].str.strip().str.lower().replace("", pd.NA).nunique()),
            suppressed_customers=int(table["user_id"].replace("", pd.NA).nunique()),
            sources=share_table(table["source_file"].value_counts(), "source"),
        ),
        check_results=[schema_check_result("suppressions", table)],
    )


@asset(
    group_name=MARKETING,
    check_specs=[schema_check_spec("recipients")],
    automation_condition=AutomationCondition.eager(),
)
def recipients(users: pd.DataFrame, suppressions: pd.DataFrame, campaign: CampaignRules):
    """Per customer, their address and whether a campaign may write to it: "" or the reason why not (no address,
    invalid address, unsubscribed, no consent under the campaign's consent rule, suppressed)."""
    table = recipient_reasons(users, suppressions, campaign.consent)
    counts = reason_counts(table["reason"])
    mailable = table[table["reason"] == ""]
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            recipients=len(mailable),
            recipients_share=len(mailable) / max(len(table), 1),
            consent_rule=campaign.consent,
            reasons=share_table(pd.Series(counts).rename(index={"": "may be written to"}), "reason"),
            **{
                REASON_COUNTS: MetadataValue.json(counts),
                EXAMPLE_ADDRESSES: int(example_domains(mailable["email"]).sum()),
            },
        ),
        check_results=[schema_check_result("recipients", table)],
    )
