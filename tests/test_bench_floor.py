"""bench.rank_floor: the floor of a spearman sample adds up its kernels and counts its pools as
the run does (4 pools of the "pattern" variant, at most S + 2 = 5 with "both")."""

import re

from bench.rank_floor import N_SUBJECTS, floor_rows


def test_floor_rows_add_up_their_kernels_and_count_the_runs_pools():
    rows = floor_rows(repeats=1, n_orders=1, n_images=120)
    parts = [row for row in rows if row[0].startswith("floor: ")]
    (total,) = [row for row in rows if row[0].startswith("floor of one spearman sample")]
    seconds = [float(row[1].removesuffix(" CPU s")) for row in parts]
    assert len(parts) == 3 and all(s > 0 for s in seconds)
    assert abs(float(total[1].removesuffix(" CPU s")) / sum(seconds) - 1) < 0.01
    pools = float(re.search(r"([\d.]+) pools a ROI", parts[1][3]).group(1))
    assert 4 < pools <= N_SUBJECTS + 2
    assert "2 splits" in parts[0][0] and "4 folds" in parts[2][0]
