"""Every benchmark reader on its generated layout, plus one malformed case each (the error names the file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from seqtrack.errors import DatasetError, InputError
from seqtrack.evaluate.benchmarks import BENCHMARKS, canonical_name, get_benchmark
from seqtrack.evaluate.benchmarks.uav import read_sequence as read_uav
from seqtrack.evaluate.benchmarks.vot import parse_region
from seqtrack.evaluate.fixtures import FixtureSpec, ground_truth, write_benchmark

SPEC = FixtureSpec()
TINY = FixtureSpec(n_sequences=2, n_frames=4)


def _read(name: str, root: Path):
    return get_benchmark(name, root).sequences()


def _check_common(seqs, n=SPEC.n_frames):
    for seq in seqs:
        assert len(seq.frames) == n
        assert all(f.is_file() for f in seq.frames)
        assert seq.boxes.shape[1] == 4


def test_registry_presets_and_aliases():
    presets = {name: info.update_preset for name, info in BENCHMARKS.items()}
    assert presets == {
        "lasot": "lasot",
        "lasot_ext": "lasot_extension_subset",
        "got10k_test": "got10k_test",
        "got10k_val": "default",
        "trackingnet": "trackingnet",
        "tnl2k": "tnl2k",
        "uav": "uav",
        "nfs": "nfs",
        "otb": "otb",
        "vot": "vot20",
    }
    assert canonical_name("LaSOT_extension_subset") == "lasot_ext"
    assert canonical_name("UAV123") == "uav"
    with pytest.raises(InputError, match="unknown benchmark 'kitti'"):
        canonical_name("kitti")


def test_root_from_environment(monkeypatch, bench_roots):
    with pytest.raises(InputError, match="SEQTRACK_OTB_ROOT"):
        monkeypatch.delenv("SEQTRACK_OTB_ROOT", raising=False)
        get_benchmark("otb")
    monkeypatch.setenv("SEQTRACK_OTB_ROOT", str(bench_roots["otb"]))
    assert get_benchmark("otb").root == bench_roots["otb"]


def test_missing_root_names_it(tmp_path):
    with pytest.raises(DatasetError, match=str(tmp_path / "nowhere")):
        get_benchmark("tnl2k", tmp_path / "nowhere").sequences()


def test_unknown_sequence_name(bench_roots):
    with pytest.raises(InputError, match="unknown OTB-100 sequence"):
        get_benchmark("otb", bench_roots["otb"]).sequences(["Basketball"])


# --- LaSOT / LaSOT_ext ----------------------------------------------------------------------------


def test_lasot(bench_roots):
    seqs = _read("lasot", bench_roots["lasot"])
    assert [s.name for s in seqs] == ["airplane-1", "bicycle-1", "airplane-2"]  # testing_set.txt order
    _check_common(seqs)
    np.testing.assert_array_equal(seqs[0].boxes, ground_truth(0, SPEC))
    assert not seqs[0].visible[4] and not seqs[0].visible[5] and seqs[0].visible[3]
    assert seqs[0].attributes == {"full_occlusion": True, "out_of_view": False}
    assert seqs[1].attributes == {"full_occlusion": False, "out_of_view": True}
    assert seqs[0].language == "a moving airplane"


def test_lasot_ext_lists_folders(bench_roots):
    seqs = _read("lasot_ext", bench_roots["lasot_ext"])
    assert [s.name for s in seqs] == ["atv-1", "atv-2", "badminton-1"]
    assert seqs[0].dataset == "lasot_ext"


def test_lasot_malformed(tmp_path):
    root = write_benchmark("lasot", tmp_path, TINY)
    (root / "airplane" / "airplane-1" / "out_of_view.txt").write_text("0,1\n")
    with pytest.raises(DatasetError, match="out_of_view.txt"):
        _read("lasot", root)
    (root / "testing_set.txt").write_text("zebra-3\n")
    with pytest.raises(DatasetError, match=str(root / "zebra" / "zebra-3")):
        _read("lasot", root)


# --- GOT-10k --------------------------------------------------------------------------------------


def test_got10k_val(bench_roots):
    seqs = _read("got10k_val", bench_roots["got10k_val"])
    assert [s.name for s in seqs] == [f"GOT-10k_Val_{i:06d}" for i in (1, 2, 3)]
    _check_common(seqs)
    assert seqs[1].meta["cover"].tolist()[5:9] == [0, 0, 8, 3]
    assert seqs[1].meta["image_wh"] == (128.0, 96.0)
    # the split folder itself is accepted as root too
    assert len(_read("got10k_val", bench_roots["got10k_val"] / "val")) == 3


def test_got10k_test(bench_roots):
    seqs = _read("got10k_test", bench_roots["got10k_test"])
    _check_common(seqs)
    assert seqs[0].boxes.shape == (1, 4)


def test_got10k_malformed(tmp_path):
    root = write_benchmark("got10k_val", tmp_path, TINY)
    (root / "val" / "list.txt").unlink()
    with pytest.raises(DatasetError, match=str(root / "val" / "list.txt")):
        _read("got10k_val", root)


# --- TrackingNet ----------------------------------------------------------------------------------


def test_trackingnet(bench_roots):
    seqs = _read("trackingnet", bench_roots["trackingnet"])
    _check_common(seqs)
    assert seqs[0].frames[0].name == "0.jpg" and seqs[0].frames[-1].name == "11.jpg"
    assert seqs[0].boxes.shape == (1, 4)


def test_trackingnet_malformed(tmp_path):
    root = write_benchmark("trackingnet", tmp_path, TINY)
    shutil.rmtree(root / "TEST" / "anno")
    with pytest.raises(DatasetError, match=str(root / "TEST" / "anno")):
        _read("trackingnet", root)


# --- TNL2K ----------------------------------------------------------------------------------------


def test_tnl2k(bench_roots):
    seqs = _read("tnl2k", bench_roots["tnl2k"])
    _check_common(seqs)
    assert seqs[2].language == "the object number 2"
    assert [f.name for f in seqs[0].frames] == sorted(f.name for f in seqs[0].frames)


def test_tnl2k_malformed(tmp_path):
    root = write_benchmark("tnl2k", tmp_path, TINY)
    gt = root / "Seq0_tnl" / "groundtruth.txt"
    gt.write_text(gt.read_text() + "1,2,3,4\n")
    with pytest.raises(DatasetError, match=str(gt)):
        _read("tnl2k", root)


# --- UAV123 ---------------------------------------------------------------------------------------


def test_uav(bench_roots):
    seqs = _read("uav", bench_roots["uav"])
    _check_common(seqs)
    assert np.isnan(seqs[0].boxes[6]).all()
    assert seqs[0].attributes["aspect_ratio_change"] and not seqs[0].attributes["scale_variation"]
    assert seqs[0].meta["aliases"] == ["uav_fixture0"]


def test_uav_split_entries_use_frame_ranges(bench_roots, tmp_path):
    root = tmp_path / "uav"
    shutil.copytree(bench_roots["uav"] / "data_seq", root / "data_seq")
    (root / "anno" / "UAV123").mkdir(parents=True)
    gt = ground_truth(0, SPEC)
    (root / "anno" / "UAV123" / "clip_2.txt").write_text("".join(",".join(map(str, r)) + "\n" for r in gt[4:9]))
    seq = read_uav(root, "clip_2", entries={"clip_2": ("fixture0", 5, 9)})
    assert [f.name for f in seq.frames] == [f"{i:06d}.jpg" for i in range(5, 10)]
    np.testing.assert_array_equal(seq.boxes, gt[4:9])
    with pytest.raises(DatasetError, match="clip_2.txt: 5 boxes for frames 5..10"):
        read_uav(root, "clip_2", entries={"clip_2": ("fixture0", 5, 10)})


def test_uav_standard_table():
    from seqtrack.evaluate.benchmarks.uav import UAV123_ENTRIES

    assert len(UAV123_ENTRIES) == 123
    assert UAV123_ENTRIES["bird1_2"] == ("bird1", 775, 1477)


def test_uav_malformed(tmp_path):
    root = write_benchmark("uav", tmp_path, TINY)
    anno = root / "anno" / "UAV123" / "fixture1.txt"
    anno.write_text("1,2,x,4\n" * TINY.n_frames)
    with pytest.raises(DatasetError, match=str(anno)):
        _read("uav", root)


# --- NfS ------------------------------------------------------------------------------------------


def test_nfs(bench_roots):
    seqs = _read("nfs", bench_roots["nfs"])
    _check_common(seqs)
    assert seqs[0].frames[0].name == "00001.jpg"


def test_nfs_malformed(tmp_path):
    root = write_benchmark("nfs", tmp_path, TINY)
    last = root / "nfs_fixture_0" / "30" / "nfs_fixture_0" / "00004.jpg"
    last.unlink()
    with pytest.raises(DatasetError, match=str(last)):
        _read("nfs", root)


# --- OTB ------------------------------------------------------------------------------------------


def test_otb(bench_roots):
    seqs = _read("otb", bench_roots["otb"])
    assert [s.name for s in seqs] == ["Fixture0", "Fixture1", "Fixture2_1", "Fixture2_2"]
    _check_common(seqs)
    for index in (0, 1):  # comma and whitespace separated files
        np.testing.assert_array_equal(seqs[index].boxes, ground_truth(index, SPEC))
    np.testing.assert_array_equal(seqs[3].boxes, ground_truth(2, SPEC) + [2, 2, 0, 0])
    assert seqs[2].meta["aliases"] == ["Fixture2.1"]


def test_otb_malformed(tmp_path):
    root = write_benchmark("otb", tmp_path, TINY)
    (root / "Fixture0" / "img" / "0004.jpg").unlink()
    with pytest.raises(DatasetError, match=str(root / "Fixture0" / "groundtruth_rect.txt")):
        _read("otb", root)


# --- VOT ------------------------------------------------------------------------------------------


def test_vot(bench_roots):
    seqs = _read("vot", bench_roots["vot"])
    _check_common(seqs)
    np.testing.assert_allclose(seqs[0].boxes, ground_truth(0, SPEC))  # rectangles
    np.testing.assert_allclose(seqs[1].boxes, ground_truth(1, SPEC))  # axis-aligned polygons
    np.testing.assert_allclose(seqs[2].boxes, ground_truth(2, SPEC) + [0, 1, 0, -1])  # masks minus their top row


def test_vot_regions():
    np.testing.assert_allclose(parse_region("1,2,3,4"), [1, 2, 3, 4])
    np.testing.assert_allclose(parse_region("0,0,10,2,8,12,-2,10"), [-2, 0, 12, 12])  # rotated polygon
    np.testing.assert_allclose(parse_region("m3,4,3,2,4,1"), [4, 5, 1, 1])  # 3x2 mask, only pixel (1, 1) set
    assert np.isnan(parse_region("m0,0,2,2,4")).all()  # empty mask
    with pytest.raises(ValueError):
        parse_region("1,2,3")


def test_vot_malformed(tmp_path):
    root = write_benchmark("vot", tmp_path, TINY)
    gt = root / "vot_fixture0" / "groundtruth.txt"
    gt.write_text("1,2,3\n" * TINY.n_frames)
    with pytest.raises(DatasetError, match=f"{gt}, line 1"):
        _read("vot", root)
