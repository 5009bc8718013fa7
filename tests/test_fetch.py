"""URL inputs: mirror copies and downloads, both checked against their sha256."""

import hashlib

import pytest

from nst.workflow.fetch import FetchError, fetch


def test_mirror_copy_is_verified(tmp_path, article):
    sha = hashlib.sha256((article / "wave.jpg").read_bytes()).hexdigest()
    out = fetch("https://example.invalid/images/wave.jpg", sha, tmp_path / "wave", mirror=article)
    assert out.read_bytes() == (article / "wave.jpg").read_bytes()


def test_wrong_checksum_leaves_no_file(tmp_path, article):
    with pytest.raises(FetchError, match="sha256 is .* but the config expects 0000"):
        fetch("https://example.invalid/wave.jpg", "0" * 64, tmp_path / "wave", mirror=article)
    assert list(tmp_path.iterdir()) == []


def test_download_path_with_a_file_url(tmp_path, article):
    source = article / "scream.jpg"
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert fetch(source.as_uri(), sha, tmp_path / "scream").read_bytes() == source.read_bytes()


def test_offline_without_mirror_says_what_to_do(tmp_path):
    with pytest.raises(FetchError, match="the download failed .* set config key mirror"):
        fetch("http://127.0.0.1:9/wave.jpg", "0" * 64, tmp_path / "wave", timeout=5)
    with pytest.raises(FetchError, match="the mirror .* has no wave.jpg"):
        fetch("http://127.0.0.1:9/wave.jpg", "0" * 64, tmp_path / "wave", mirror=tmp_path, timeout=5)
    assert list(tmp_path.iterdir()) == []
