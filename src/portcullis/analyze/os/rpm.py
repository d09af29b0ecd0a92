"""Red Hat, SUSE, Fedora, Amazon, Mariner ... packages: rpm's package database.

Reads the DB in pure Python whatever its backend (SQLite, NDB, Berkeley DB; see
:mod:`portcullis.analyze.os.rpmdb`), at /var/lib/rpm or /usr/lib/sysimage/rpm. One DB is
used: SQLite before NDB before Berkeley DB (a converted image may keep the old file), the
first that can be read. CBL-Mariner/Azure Linux distroless images ship no DB, only
/var/lib/rpmmanifest/container-manifest-2 (``rpm -qa`` output, tab-separated): it is read
when no DB could be. ``gpg-pubkey`` entries are imported signing keys, not software: skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
)
from portcullis.analyze.guard import one_file
from portcullis.analyze.os.rpmdb import NevraKey, RpmdbError, RpmPackage, read_database, read_keys
from portcullis.analyze.provenance import first_layers
from portcullis.layers.view import Filesystem
from portcullis.model.distro import Distro
from portcullis.model.files import FileEntry, Location
from portcullis.model.finding import Warning
from portcullis.model.package import Package

SYSIMAGE = "/usr/lib/sysimage/rpm"
VAR_LIB = "/var/lib/rpm"
MANIFEST = "/var/lib/rpmmanifest/container-manifest-2"

# In order of preference: the newest backend first (a converted DB may leave the old file).
DB_PATHS = tuple(
    f"{directory}/{name}"
    for name in ("rpmdb.sqlite", "Packages.db", "Packages")
    for directory in (VAR_LIB, SYSIMAGE)
)

# Distro family (os_release.FAMILIES values) → purl namespace (the distribution's vendor).
NAMESPACES = {
    "redhat": "redhat",
    "centos": "centos",
    "rocky": "rocky",
    "alma": "almalinux",
    "oracle": "oracle",
    "amazon": "amazon",
    "fedora": "fedora",
    "suse": "suse",
    "opensuse": "opensuse",
    "photon": "photon",
    "mariner": "mariner",
    "azurelinux": "azurelinux",
    "scientific": "scientific",
}

PUBKEY = "gpg-pubkey"
_MAX_PROBLEMS = 20


# --- container-manifest-2 --------------------------------------------------------------------


def _epoch(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isdigit() else None


def read_manifest(data: bytes) -> tuple[list[RpmPackage], list[str]]:
    """Lines of ``NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME, VENDOR, EPOCH, SIZE, ARCH,
    EPOCHNUM, SOURCERPM`` separated by tabs, as CBL-Mariner's image build writes them."""
    packages: list[RpmPackage] = []
    problems: list[str] = []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        line = raw.strip("\r\n")
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 10 or not cols[0] or "-" not in cols[1]:
            problems.append(f"line {number}: not a container-manifest-2 entry; skipped")
            continue
        version, _, release = cols[1].rpartition("-")
        vendor = cols[4].strip()
        packages.append(RpmPackage(
            name=cols[0].strip(),
            epoch=_epoch(cols[5]),
            version=version,
            release=release,
            arch=cols[7].strip(),
            source_rpm=cols[9].strip() or None,
            vendor=vendor if vendor and vendor != "(none)" else None,
            size=int(cols[6]) if cols[6].strip().isdigit() else None,
        ))
    return packages, problems


def _manifest_keys(data: bytes) -> list[NevraKey]:
    return [p.key for p in read_manifest(data)[0]]


# --- purl and source -------------------------------------------------------------------------


def source_name_version(source_rpm: str | None) -> tuple[str | None, str | None]:
    """``openssl-1.1.1k-7.el8_6.src.rpm`` → ("openssl", "1.1.1k-7.el8_6")."""
    if not source_rpm:
        return None, None
    stem = source_rpm
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return stem or None, None
    return parts[0], f"{parts[1]}-{parts[2]}"


def purl(package: RpmPackage, distro: Distro | None) -> str:
    namespace = None
    qualifiers: dict[str, str] = {}
    if package.arch:
        qualifiers["arch"] = package.arch
    if package.epoch:
        qualifiers["epoch"] = str(package.epoch)
    if distro is not None:
        namespace = NAMESPACES.get(distro.family, distro.family)
        if distro.version:
            qualifiers["distro"] = f"{distro.family}-{distro.version}"
    if package.source_rpm:
        qualifiers["upstream"] = package.source_rpm
    return PackageURL(type="rpm", namespace=namespace, name=package.name,
                      version=f"{package.version}-{package.release}",
                      qualifiers=qualifiers).to_string()


def to_package(package: RpmPackage, db: FileEntry, introduced: int | None,
               distro: Distro | None, *, with_files: bool = True) -> Package:
    source_name, source_version = source_name_version(package.source_rpm)
    if source_version and package.epoch:
        source_version = f"{package.epoch}:{source_version}"
    properties = {
        "arch": package.arch,
        "vendor": package.vendor or "",
        "modularitylabel": package.modularity_label or "",
    }
    if with_files:
        properties["files"] = str(len(package.files))
    return Package(
        name=package.name,
        version=package.evr,
        type="rpm",
        purl=purl(package, distro),
        locations=(Location(path=db.path, layer=db.layer),),
        introduced_in=introduced,
        found_by="rpm",
        source_name=source_name,
        source_version=source_version,
        licenses=(package.license,) if package.license else (),
        properties={k: v for k, v in properties.items() if v},
    )


# --- finding and reading the DB --------------------------------------------------------------


def databases(fs: Filesystem) -> list[FileEntry]:
    """Existing DB files, in order of preference, each real file once (/var/lib/rpm is often
    a symlink to /usr/lib/sysimage/rpm)."""
    found: list[FileEntry] = []
    seen: set[str] = set()
    for path in DB_PATHS:
        entry = fs.resolve(path)
        if entry is not None and entry.meta.is_file and entry.path not in seen:
            seen.add(entry.path)
            found.append(entry)
    return found


def _history_paths(fs: Filesystem, dbs: Iterable[FileEntry]) -> list[str]:
    """Every path under which some version of a DB file was seen, for provenance."""
    paths = {db.path for db in dbs}
    paths.update(p for p in DB_PATHS if fs.versions(p))
    return sorted(paths)


def _introduced(fs: Filesystem, paths: list[str], current: bytes,
                current_keys: list[NevraKey],
                keys_of: Callable[[bytes], list[NevraKey]]) -> dict[NevraKey, int] | None:
    """Where each package's current run began; None when the DB has a single version."""
    if sum(len(fs.versions(p)) for p in paths) <= 1:
        return None

    def parse(data: bytes) -> list[NevraKey]:
        if data == current:
            return current_keys
        try:
            return keys_of(data)
        except RpmdbError:
            return []

    return first_layers(fs, paths, parse)


class Rpm:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="rpm",
        version=1,
        scanners=frozenset({"packages"}),
        paths=(
            "/var/lib/rpm/rpmdb.sqlite",
            "/var/lib/rpm/Packages.db",
            "/var/lib/rpm/Packages",
            "/usr/lib/sysimage/rpm/rpmdb.sqlite",
            "/usr/lib/sysimage/rpm/Packages.db",
            "/usr/lib/sysimage/rpm/Packages",
            "/var/lib/rpmmanifest/container-manifest-2",
        ),
        stage=STAGE_INVENTORY,
    )

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        dbs = databases(fs)
        for db in dbs:
            with one_file(result, db, self.spec.name, "rpm database") as found:
                read = self._read_db(db, fs, found)
                if read is None:
                    continue
                packages, data = read
                keys = [p.key for p in packages]
                introduced = _introduced(fs, _history_paths(fs, dbs), data, keys, read_keys)
                self._add(found, packages, db, introduced, ctx.distro, with_files=True)
                owned = (path for package in packages for path in package.files)
                found.owned_paths[self.spec.name] = frozenset(owned)
                for other in dbs[dbs.index(db) + 1:]:
                    found.warnings.append(self._warning(
                        f"another rpm database is used ({db.path}); this one is ignored", other))
            if self.spec.name in result.owned_paths:
                return result
        manifest = fs.resolve(MANIFEST)
        if manifest is not None and manifest.meta.is_file:
            with one_file(result, manifest, self.spec.name, "rpm manifest") as found:
                self._read_manifest(manifest, fs, found, ctx.distro)
        return result

    def _read_db(self, db: FileEntry, fs: Filesystem,
                 result: AnalysisResult) -> tuple[list[RpmPackage], bytes] | None:
        data = fs.read_entry(db)
        if data is None:
            result.warnings.append(self._warning(
                "rpm database could not be read (not captured: larger than the capture "
                "limit?)", db))
            return None
        try:
            database = read_database(data)
        except RpmdbError as e:
            result.warnings.append(self._warning(f"rpm database unreadable: {e}", db))
            return None
        self._problems(result, database.problems, db)
        return list(database.packages), data

    def _read_manifest(self, manifest: FileEntry, fs: Filesystem, result: AnalysisResult,
                       distro: Distro | None) -> None:
        data = fs.read_entry(manifest)
        if data is None:
            result.warnings.append(self._warning("rpm manifest could not be read", manifest))
            return
        packages, problems = read_manifest(data)
        self._problems(result, problems, manifest)
        introduced = _introduced(fs, [manifest.path], data, [p.key for p in packages],
                                 _manifest_keys)
        self._add(result, packages, manifest, introduced, distro, with_files=False)

    def _add(self, result: AnalysisResult, packages: list[RpmPackage], db: FileEntry,
             introduced: dict[NevraKey, int] | None, distro: Distro | None, *,
             with_files: bool) -> None:
        seen: set[NevraKey] = set()
        for package in packages:
            if package.name == PUBKEY or package.key in seen:
                continue
            seen.add(package.key)
            layer = introduced.get(package.key, db.layer) if introduced else db.layer
            result.packages.append(
                to_package(package, db, layer, distro, with_files=with_files)
            )
        result.packages.sort(key=lambda p: (p.sort_key(), p.purl or ""))

    def _problems(self, result: AnalysisResult, problems: Iterable[str], db: FileEntry) -> None:
        problems = list(problems)
        for problem in problems[:_MAX_PROBLEMS]:
            result.warnings.append(self._warning(problem, db))
        if len(problems) > _MAX_PROBLEMS:
            result.warnings.append(self._warning(
                f"{len(problems) - _MAX_PROBLEMS} more unreadable records", db))

    def _warning(self, message: str, db: FileEntry) -> Warning:
        return Warning(message=message, path=db.path, layer=db.layer, analyzer=self.spec.name)
