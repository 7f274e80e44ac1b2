"""The output contract: one definition of every table,
used by the analysis, the report and the tests."""

from __future__ import annotations

from analysis import schema


def test_every_table_has_unique_columns_and_a_stage():
    for table in schema.TABLES.values():
        assert len(set(table.columns)) == len(table.columns), table.name
        assert table.stage in schema.STAGES and table.file == f"{table.name}.csv"


def test_stage_tables_partition_the_tables_in_contract_order():
    listed = [name for stage in schema.STAGES for name in schema.stage_tables(stage)]
    assert sorted(listed) == sorted(schema.TABLES) and len(listed) == len(set(listed))
    assert list(schema.stage_tables(schema.POINT)) == [
        n for n, t in schema.TABLES.items() if t.stage == schema.POINT
    ]


def test_every_table_carries_the_atlas():
    assert all("atlas" in t.columns for t in schema.TABLES.values())


def test_methods_have_labels_and_a_kind():
    assert set(schema.METHODS) == set(schema.METHOD_LABELS)
    assert set(schema.LINEAR_METHODS) | set(schema.RANK_METHODS) <= set(schema.METHODS)
    assert schema.method_label("corr") == "Pearson r" and "unknown" in schema.method_label(
        "unknown"
    )
