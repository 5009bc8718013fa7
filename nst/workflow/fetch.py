"""Images named by URL: downloaded once, or taken from a mirror directory, always sha256-checked."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import NSTError
from ..files import atomic_path, sha256_of


class FetchError(NSTError):
    """A URL input that cannot be had or does not match its checksum."""


def file_name(url: str) -> str:
    return unquote(Path(urlparse(url).path).name)


def fetch(url: str, sha256: str, output: str | Path, mirror: str | Path | None = None, timeout: float = 60) -> Path:
    """Write the file behind `url` to `output`, from `mirror/<file name>` when that exists.

    The file is checked against `sha256` before it is renamed into place, so a wrong or
    partial download never becomes an input.
    """
    output = Path(output)
    name = file_name(url)
    with atomic_path(output) as tmp:
        local = Path(mirror) / name if mirror else None
        if local is not None and local.is_file():
            shutil.copyfile(local, tmp)
            origin = str(local)
        else:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                where = f"the mirror {mirror} has no {name}, and " if mirror else ""
                raise FetchError(
                    f"{url}: {where}the download failed ({getattr(exc, 'reason', exc)}); "
                    f"put {name} in a directory and set config key mirror to it"
                ) from None
            origin = url
        found = sha256_of(tmp)
        if found != sha256.lower():
            raise FetchError(f"{origin}: sha256 is {found}, but the config expects {sha256}; the file is not the one named")
    return output
