"""The names every layer shares: tables, key columns, statuses, methods and rule codes.

A leaf module: it imports nothing of ours, so any module may import it, and a name that
appears in a table, a conf key or a test is spelled in exactly one place.
"""

from __future__ import annotations

# Tables under output.path, in the order the stages write them.
NATIONAL_ITEMS = "national_items"
CATALOG_MAPPING = "catalog_mapping"
SETTLEMENT_ROWS = "settlement_rows"  # every input row once, partitioned by month and status
SETTLEMENT_DELIVERIES = "settlement_deliveries"  # the files behind it, and the run that tagged each
RECONCILIATION = "reconciliation"
REVIEW_QUEUE = "review_queue"
# Views of settlement_rows (same columns as the tables they replaced).
SETTLEMENTS_CLEAN = "settlements_clean"
SETTLEMENTS_QUARANTINE = "settlements_quarantine"
ITEM_STATS = "item_stats"
ITEM_MED_TYPES = "item_med_types"  # item_stats split by med_type
DISCREPANT_ITEMS = "discrepant_items"
SCENARIO_RESULTS = "scenario_results"
CLASS_SUMMARY = "class_summary"
INSURED_DECISIONS = "insured_decisions"  # per insured region and item it could add
INSURED_SCENARIOS = "insured_scenarios"
GROUP_HARMONISATION = "group_harmonisation"  # per group, rule, member and item it would add
GROUP_SUMMARY = "group_summary"
GROUP_USE = "group_use"  # where each member's insured used each item it would add
BUDGET_IMPACT = "budget_impact"  # per unit, scheme and year: current vs new world
BUDGET_SENSITIVITY = "budget_sensitivity"  # tornado: swing of the fund impact per parameter
BUDGET_FRONTIER = "budget_frontier"  # budget-optimal selection per unit and cap
OPTIMAL_ITEMS = "optimal_items"
SCHEME_COMPARISON = "scheme_comparison"  # optimal set at each threshold scheme's spend
# Disclosure control (catalogbridge.publication): the hidden cells of every insured region,
# the published (suppressed) copies of the tables users receive, and what was hidden.
DISCLOSURE_CELLS = "disclosure_cells"
PUBLISHED_TABLES = {table: f"published_{table}" for table in (
    DISCREPANT_ITEMS, CLASS_SUMMARY, SCENARIO_RESULTS, INSURED_DECISIONS, INSURED_SCENARIOS)}
SUPPRESSION_LOG = "suppression_log"
PRIMARY, COMPLEMENTARY = "primary", "complementary"
# Cross-region care analytics (catalogbridge.flows): visits, flows, who travels, costs, alerts.
FLOW_VISITS = "flow_visits"  # one row per visit and pair: what every flow table counts
FLOW_PANEL = "flow_panel"  # pair x month x med_type x cross level, with 'all' rollups
FLOW_DESTINATIONS = "flow_destinations"  # origin-destination matrix (long), shares and ranks
FLOW_BALANCE = "flow_balance"  # per region: home, outflow, inflow, net inflow
FLOW_CONCENTRATION = "flow_concentration"  # top-N institutions and tiers: inflow vs own insured
FLOW_DISTANCE = "flow_distance"  # per ordered region pair: distance, rates, fitted visits
FLOW_GRAVITY = "flow_gravity"  # the distance-decay model's fit and correlations
FLOW_TRAVELLERS = "flow_travellers"  # mix of filing type, med_type, person type, tier per pair
COST_BENCHMARKS = "cost_benchmarks"  # cost away vs at home vs the treatment region's own
FLOW_QUALITY = "flow_quality"  # unknown codes and regions missing from the reference
SURGE_ALERTS = "surge_alerts"
SURGE_DRIVERS = "surge_drivers"
STAGE_INPUTS = "stage_inputs"  # fingerprint of what each reusable stage read, and the run

# Settlement columns (NHSA field names) that several modules read.
FEE = "det_item_fee_sumamt"
TIME = "fee_ocur_time"
SERIAL = "feedetl_sn"
VISIT = "mdtrt_id"
# Lineage and raw-text companions added by the readers: the file, the byte offset where the
# row's file split starts, and the row's ordinal within that split (see io.readers).
SOURCE_FILE = "_source_file"
SOURCE_SPLIT = "_source_split"
SPLIT_RECORD = "_split_record"
LINEAGE = (SOURCE_FILE, SOURCE_SPLIT, SPLIT_RECORD)
# settlement_rows partitions: the delivery month (from the file's name) and the row's status.
MONTH, STATUS = "settlement_month", "status"
# The run that tagged a delivered file's rows (settlement_deliveries) and counted them
# (reconciliation): counts are kept while the file's rows are the ones that run tagged.
TAGGED_RUN = "tagged_run"
CLEAN, QUARANTINED = "clean", "quarantined"
RAW_SUFFIX = "__raw"

# Keys of the analysis tables.
INSURED, TREATMENT = "insured_admdvs", "treatment_admdvs"
PAIR = (INSURED, TREATMENT)
STATS_KEY = (*PAIR, "national_code")
CATALOG_KEY = ("catalog_region", "local_code")

# Coverage levels (医保类别) and item functions.
COVERED_LEVELS = ("01", "02")
DIAGNOSTIC, THERAPEUTIC = "diagnostic", "therapeutic"

# How a catalog item got its national code (catalog_mapping.method), in the order tried.
PROVIDED, CODE, NAME_EXACT, FAMILY, FUZZY_AUTO, MANUAL, LEARNED, UNMATCHED = (
    "provided", "code", "name_exact", "family", "fuzzy_auto", "manual", "learned", "unmatched")
# Review status: automatic, waiting for a reviewer, no usable candidate; after a decision:
# reviewed (a code was set), unmappable, or decision_stale (its code left the library).
AUTO, NEEDS_REVIEW, NO_CANDIDATE = "auto", "needs_review", "no_candidate"
REVIEWED, UNMAPPABLE, DECISION_STALE = "reviewed", "unmappable", "decision_stale"

# How a clean settlement row got its national code (settlements_clean.mapping_source).
MAPPED_BY_CATALOG, MAPPED_BY_ROW_CODE, AWAITING_REVIEW = "catalog", "row_national_code", "unmapped"

# Data-quality rule severities and reason codes (catalogbridge.quality.rules describes them).
DROP, FLAG = "drop", "flag"
MISSING_ITEM_CODE = "missing_item_code"
MISSING_ITEM_NAME = "missing_item_name"
MISSING_FEE = "missing_fee"
INVALID_FEE = "invalid_fee"
FEE_NOT_POSITIVE = "fee_not_positive"
DUPLICATE_FEEDETL_SN = "duplicate_feedetl_sn"
MISSING_FEEDETL_SN = "missing_feedetl_sn"
MISSING_VISIT_ID = "missing_visit_id"
INVALID_TIME = "invalid_time"
OUT_OF_PERIOD = "out_of_period"
MED_TYPE_EXCLUDED = "med_type_excluded"
INVALID_REGION = "invalid_region"
UNKNOWN_REGION = "unknown_region"
ITEM_NOT_IN_CATALOG = "item_not_in_catalog"
GENDER_LIMITED_ITEM = "gender_limited_item"
AGE_LIMITED_ITEM = "age_limited_item"
