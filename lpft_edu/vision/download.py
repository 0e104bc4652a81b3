"""Download and verify the real CIFAR-10 and STL-10, through torchvision's dataset classes.

URLs and md5 sums are torchvision's own (``CIFAR10.url``/``tgz_md5``/``train_list``...), read in
one place, :mod:`lpft_edu.vision.checksums`, and never retyped. What this adds to
``torchvision.datasets.CIFAR10(root, download=True)``:

* an interrupted download *resumes*: bytes go to ``<archive>.part`` and a re-run asks the server
  for the rest (HTTP Range). A connection that drops (fewer bytes than the server announced) keeps
  the ``.part`` and says so; only a *complete* file that fails its md5 is called corrupt. The
  archive gets its real name only after its md5 matches;
* nothing the user put there is deleted: a file at the archive's name, or an extracted file, that
  fails its md5 is moved aside to ``NAME.bad`` (with a message) before a fresh copy is fetched;
* re-running is safe and cheap: extracted files whose md5 sums match are left alone;
* offline, a missing URL (404) or a bad checksum each give their own message naming the file, the
  URL and the fix.

After the archive is verified, torchvision extracts it and checks every extracted file's md5.
:func:`fetch_weights` applies the same resumable, checked download to pretrained checkpoints.
Command line: ``python data_scripts/download.py [--root DIR] [--only cifar10|stl10]``.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

from lpft_edu.vision.checksums import (KNOWN_WEIGHTS_MD5, Archive, archives, cached_md5,  # noqa: F401
                                      md5_matches, md5sum)
from lpft_edu.vision.data import DATA_ENV, default_root
from lpft_edu.vision.errors import DataError

MB = 1 << 20


class DownloadError(DataError):
    """Download or verification failed; the message names the file, the URL and the fix."""


def members_ok(archive: Archive, root: Path) -> bool:
    """Every extracted file is present and has its published md5 (remembered per file, see checksums)."""
    return all((root / p).is_file() and cached_md5(root / p) == m for p, m in archive.members())


def move_aside(path: Path) -> Path:
    """Rename ``path`` to ``path.bad`` (``.bad.1``, ... if taken) and return the new name: never delete."""
    bad = path.with_name(path.name + ".bad")
    n = 0
    while bad.exists():
        n += 1
        bad = path.with_name(f"{path.name}.bad.{n}")
    os.replace(path, bad)
    return bad


def _rerun(root: Path) -> str:
    return f"python data_scripts/download.py --root {root}"


def _offline_error(filename: str, url: str, root: Path, reason) -> DownloadError:
    return DownloadError(
        f"Could not download {filename} from {url} ({reason}). Are you offline or behind a proxy? Fix: connect and run "
        f"`{_rerun(root)}` again (a partial download resumes), or download {url} "
        f"by other means and put it at {root / filename}, then run the command again to verify and extract it.")


def _http_error(filename: str, url: str, root: Path, exc: urllib.error.HTTPError) -> DownloadError:
    if exc.code in (404, 410):
        return DownloadError(
            f"{filename} not found at {url} (HTTP {exc.code}): the file has moved or the URL is wrong. Fix: find "
            f"the file's current address, download it by other means and put it at {root / filename}, then run "
            f"`{_rerun(root)}` to verify it.")
    return DownloadError(
        f"The server refused {url} (HTTP {exc.code} {exc.reason}). Fix: run `{_rerun(root)}` again later "
        "(a partial download resumes).")


def _dropped(part: Path, total: int | None, url: str, root: Path, reason: str = "") -> DownloadError:
    have = part.stat().st_size if part.exists() else 0
    of = f" of {total / MB:.1f}" if total else ""
    why = f" ({reason})" if reason else ""
    return DownloadError(
        f"{part.name[:-len('.part')]}: connection dropped after {have / MB:.1f}{of} MB{why}: run the same command "
        f"again to resume (the {have / MB:.1f} MB are kept in {part}). Downloading {url}.")


def _range_start(response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", "") or "")
    return int(match.group(1)) if match else None


def _download_into(part: Path, url: str, root: Path, progress: bool, timeout: float, chunk: int) -> str:
    """Append the rest of ``url`` to ``part`` (HTTP Range). Returns what it did; raises DownloadError
    when the transfer stops early, keeping every byte received."""
    offset = part.stat().st_size if part.exists() else 0
    name = part.name[:-len(".part")]
    headers = {"User-Agent": "lpft-edu"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to fetch: the part file is complete
            return "resumed"
        raise _http_error(name, url, root, exc) from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        raise _offline_error(name, url, root, getattr(exc, "reason", exc)) from None
    action = "resumed" if offset else "downloaded"
    with response:
        if offset and response.status != 206:  # the server ignored the Range header: restart cleanly
            offset, action = 0, "restarted"
        elif offset and _range_start(response) != offset:
            raise DownloadError(f"{url} answered a different byte range than asked for ({offset}-): run "
                                f"`{_rerun(root)}` again; if this repeats, delete {part} to start over.")
        length = response.length
        total = (offset + length) if length is not None else None
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=name)
        try:
            with open(part, "ab" if offset else "wb") as f:
                while block := response.read(chunk):
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
        except (http.client.HTTPException, urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            raise _dropped(part, total, url, root, type(exc).__name__) from None
        finally:
            if bar is not None:
                bar.close()
    if total is not None and part.stat().st_size < total:
        raise _dropped(part, total, url, root)
    return action


def fetch(url: str, target: Path, md5: str | None, progress: bool = True, timeout: float = 60,
          chunk: int = 1 << 20, log=print) -> str:
    """Download ``url`` to ``target`` (resuming ``target.part``), verify ``md5``; returns what it did.

    ``md5`` may be a published prefix (at least 8 hex digits), or None when no hash is known (then
    the file is used unverified: say so to the user)."""
    target = Path(target)
    root = target.parent
    prefix = ""
    if target.exists():
        if md5 is None or md5_matches(md5sum(target), md5):
            return "verified existing file" if md5 else "kept existing file (no known checksum)"
        bad = move_aside(target)  # may be the user's own copy: keep it, under another name
        log(f"{target} fails its checksum (expected md5 {md5}); moved it aside to {bad.name} "
            "and downloading a fresh copy")
        prefix = f"moved the damaged {target.name} to {bad.name}; "
    part = target.with_name(target.name + ".part")
    action = _download_into(part, url, root, progress, timeout, chunk)
    if md5 is not None:
        got = md5sum(part)
        if not md5_matches(got, md5):  # the transfer completed, so the file itself is wrong
            part.unlink()
            raise DownloadError(
                f"{target.name} downloaded completely from {url} but failed its checksum (md5 {got}, expected "
                f"{md5}); the damaged download was removed. Fix: run `{_rerun(root)}` again; if it fails "
                f"again, the server or a proxy is altering the file: download {url} by other means, put it at "
                f"{target}, and re-run to verify it.")
    os.replace(part, target)
    return prefix + action


def fetch_weights(url: str, cache: Path, progress: bool = True, log=print) -> Path:
    """Download a pretrained checkpoint into ``cache/weights`` (resumable) and check its published hash.

    Known URLs (:data:`~lpft_edu.vision.checksums.KNOWN_WEIGHTS_MD5`) fail closed on a mismatch; for
    any other URL no hash is known, so the file is used unverified and the log says so."""
    target = Path(cache) / "weights" / url.rsplit("/", 1)[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    md5 = KNOWN_WEIGHTS_MD5.get(url)
    if md5 is None:
        log(f"no published checksum for {url}: {target.name} is used unverified")
    fetch(url, target, md5, progress, log=log)
    return target


def prepare(archive: Archive, root: Path, progress: bool = True, keep_archive: bool = True, log=print) -> str:
    """Make ``root`` hold ``archive``'s verified, extracted files; returns what it did."""
    from torchvision.datasets.utils import extract_archive
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if members_ok(archive, root):
        return f"{archive.name}: already present and verified in {root / archive.folder}"
    for rel, md5 in archive.members():  # extraction overwrites: keep the user's differing files aside
        path = root / rel
        if path.is_file() and cached_md5(path) != md5:
            log(f"{path} fails its checksum (expected md5 {md5}); moved it aside to {move_aside(path).name}")
    action = fetch(archive.url, root / archive.filename, archive.md5, progress, log=log)
    log(f"{archive.name}: {action} {archive.filename}; extracting")
    try:
        # the archive's md5 matched, so its contents are the published ones
        extract_archive(str(root / archive.filename), str(root))
    except Exception as exc:  # noqa: BLE001 - tarfile, gzip and OS errors share no base; all mean the same
        raise DownloadError(f"{archive.name}: extracting {root / archive.filename} failed ({type(exc).__name__}: "
                            f"{exc}). Fix: check the free disk space under {root}, then run `{_rerun(root)}` "
                            "again.") from None
    failing = [rel for rel, md5 in archive.members() if not (root / rel).is_file() or cached_md5(root / rel) != md5]
    if failing:
        raise DownloadError(f"{archive.name}: {', '.join(failing)} under {root} fail their checksums after "
                            f"extraction (disk full, or another program writing there?). Fix: run "
                            f"`{_rerun(root)}` again.")
    if not keep_archive:
        (root / archive.filename).unlink(missing_ok=True)
    return f"{archive.name}: ready in {root / archive.folder}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python data_scripts/download.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=None,
                   help=f"data directory (default ${DATA_ENV} if set, else ~/.cache/lpft_edu)")
    p.add_argument("--only", choices=("cifar10", "stl10"), action="append", help="fetch only this data set (repeatable)")
    p.add_argument("--delete-archives", action="store_true", help="remove the .tar.gz files after extraction")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    root = args.root or default_root()
    try:
        for key, archive in archives().items():
            if args.only and key not in args.only:
                continue
            print(prepare(archive, root, not args.no_progress, not args.delete_archives))
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: run `{_rerun(root)}` again to resume (partial downloads are kept).", file=sys.stderr)
        return 130
    print(f"Data ready under {root}. Run: lpft-cifar-stl --root {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
