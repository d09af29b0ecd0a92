"""The package-database parsers under fuzzing: what each one reads, the errors it declares,
and small well-formed seeds to mutate. Shared by tests/property/test_parser_fuzz.py (a few
hundred inputs in the suite) and bench/fuzz_parsers.py (100,000 and more).

A parser passes an input when it returns, or raises one of its declared errors (the
exceptions its analyzer turns into a "cannot parse" warning). Anything else is a crash.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from portcullis.analyze import os_release
from portcullis.analyze.lang import dotnet, go_binary, java, npm, php, python, ruby, rust
from portcullis.analyze.lang.package_files import PackageFiles
from portcullis.analyze.os import apk, control, dpkg, rpm
from portcullis.analyze.os.rpmdb import RpmdbError, read_database
from portcullis.analyze.os.rpmdb.header import MAGIC, parse_package


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    parse: Callable[[bytes], object]
    errors: tuple[type[Exception], ...]
    seeds: tuple[bytes, ...]
    json: bool = False  # structured inputs: JSON documents of any shape


def check(target: Target, data: bytes) -> BaseException | None:
    """None when ``target`` handled ``data`` as it declares; else what escaped."""
    try:
        target.parse(data)
    except target.errors:
        return None
    except Exception as e:  # RecursionError included: that is a crash too
        return e
    return None


def mutate(seed: bytes, ops: Sequence[tuple[int, int, bytes]]) -> bytes:
    """Structured-but-wrong: a seed with bytes inserted, deleted, replaced, a slice repeated
    many times (long lines, many continuation lines) or a run of openers (deep nesting)."""
    data = bytearray(seed)
    for where, kind, payload in ops:
        at = where % (len(data) + 1)
        match kind % 5:
            case 0:
                data[at:at] = payload
            case 1:
                del data[at:at + 1 + len(payload)]
            case 2:
                data[at:at + len(payload)] = payload
            case 3:
                piece = bytes(data[at:at + 1 + len(payload) % 40]) or b"\n"
                data[at:at] = piece * (1 + where % 200)
            case _:
                opener = payload[:1] or b"["
                data[at:at] = opener * (1 + where % 3000)
    return bytes(data)


# seeds ----------------------------------------------------------------------------------------

DPKG_STATUS = (b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n"
               b"Architecture: amd64\nSource: glibc (2.36-9)\nMaintainer: GNU <a@b.c>\n"
               b"Description: GNU C Library\n shared libraries\n .\n more\n\n"
               b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n")
DEP5 = (b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        b"Files: *\nLicense: GPL-2+ or (MIT and BSD-3-clause)\n\n"
        b"see /usr/share/common-licenses/GPL-2 version 2 or any later version\n")
APK = (b"C:Q1abc=\nP:musl\nV:1.2.4-r0\nA:x86_64\nL:( MIT OR Apache-2.0 ) AND BSD\n"
       b"o:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36\n")
METADATA = (b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n"
            b"Classifier: License :: OSI Approved :: MIT License\nDescription: a\n\n"
            b"        b\n\nbody\n")
REQUIREMENTS = b"requests==2.31.0 \\\n  --hash=sha256:abc\nflask[async] === 3.0 ; python_version>'3'\n"
PIPFILE = b'{"default": {"requests": {"version": "==2.31.0"}}, "develop": {}}'
POETRY = b'[[package]]\nname = "requests"\nversion = "2.31.0"\n[package.source]\ntype = "x"\n'
PACKAGE_JSON = b'{"name": "@scope/x", "version": "1.0.0", "license": {"type": "MIT"}}'
PACKAGE_LOCK = (b'{"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": '
                b'{"version": "1.0.0"}}, "dependencies": {"b": {"version": "npm:c@2.0.0", '
                b'"dependencies": {"d": {"version": "3.0.0"}}}}}')
YARN = (b'# yarn lockfile v1\n\n"a@^1.0.0", a@^1.1:\n  version "1.2.0"\n  resolved "x"\n\n'
        b'__metadata:\n  version: 6\n\n"b@npm:^2":\n  version: 2.0.0\n  resolution: "b@npm:2.0.0"\n')
PNPM = (b"lockfileVersion: '6.0'\n\npackages:\n\n  /a@1.0.0(b@2.0.0):\n    resolution: {x}\n"
        b"    version: 1.0.0\n  /c/2.0.0_d@1.0.0:\n    dev: false\n")
COMPOSER = (b'{"packages": [{"name": "a/b", "version": "v1.0.0", "license": ["MIT"]}], '
            b'"packages-dev": [{"name": "c/d", "version": "2.0"}]}')
INSTALLED_JSON = b'{"packages": [{"name": "a/b", "version": "1.0"}], "dev-package-names": []}'
GEMSPEC = (b'Gem::Specification.new do |s|\n  s.name = "rake".freeze\n  s.version = "13.0.6"\n'
           b'  s.licenses = ["MIT".freeze]\n  s.platform = %q{java}\nend\n')
GEMFILE_LOCK = (b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n"
                b"    nokogiri (1.15.0-x86_64-linux)\n\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n  rake\n")
DEPS_JSON = (b'{"runtimeTarget": {"name": ".NETCoreApp,Version=v8.0"}, "targets": {}, '
             b'"libraries": {"App/1.0.0": {"type": "project"}, "Newtonsoft.Json/13.0.1": '
             b'{"type": "package", "sha512": "x"}}}')
PACKAGES_LOCK = (b'{"version": 1, "dependencies": {"net8.0": {"Serilog": {"type": "Direct", '
                 b'"resolved": "3.0.0"}}}}')
CARGO_LOCK = (b'version = 3\n\n[[package]]\nname = "serde"\nversion = "1.0.190"\n'
              b'source = "registry+https://github.com/rust-lang/crates.io-index"\n')
AUDIT = zlib.compress(b'{"packages": [{"name": "serde", "version": "1.0.0", "source": '
                      b'"crates.io", "kind": "runtime", "root": false}]}')
MODINFO = (b"path\texample.com/app\nmod\texample.com/app\t(devel)\t\n"
           b"dep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n=>\t../sys\t\t\n"
           b"build\t-ldflags=\"-s -w\"\nbuild\tvcs.revision=abc\n")
OS_RELEASE = (b'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n'
              b"VERSION='12 (bookworm)'\nID_LIKE=\"x y\"\n# c\nPRETTY_NAME=\"a \\\"b\\\"\"\n")
MANIFEST = (b"Manifest-Version: 1.0\r\nImplementation-Title: gizmo\r\nImplementation-Version: 1.1"
            b"\r\nBundle-License: \"Apache-2.0\";link=x, MIT\r\n long continuation\r\n\r\n"
            b"Name: a/b\r\nSpecification-Vendor: org.acme\r\n")
PROPERTIES = b"#c\ngroupId=org.acme\nartifactId = gizmo\nversion: 1.1 \\\n  .0\n! c\nkey\n"
RPM_MANIFEST = (b"bash\t5.1.8-1.cm2\t1\t2\tMicrosoft\t(none)\t100\tx86_64\t0\tbash-5.1.8.src.rpm\n"
                b"broken line\n")


def rpm_header(tags: dict[int, tuple[int, bytes, int]]) -> bytes:
    """A header blob: tag → (type, value bytes, count)."""
    index, store = b"", b""
    for tag, (kind, value, count) in sorted(tags.items()):
        index += struct.pack(">IIII", tag, kind, len(store), count)
        store += value
    return MAGIC + b"\0" * 4 + struct.pack(">II", len(tags), len(store)) + index + store


RPM_HEADER = rpm_header({
    1000: (6, b"bash\0", 1), 1001: (6, b"5.1\0", 1), 1002: (6, b"1.el9\0", 1),
    1022: (6, b"x86_64\0", 1), 1116: (4, struct.pack(">II", 0, 0), 2),
    1117: (8, b"bash\0sh\0", 2), 1118: (8, b"/usr/bin/\0", 1), 1009: (4, b"\0\0\0\x10", 1),
})


def egg() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("EGG-INFO/PKG-INFO", METADATA)
    return buffer.getvalue()


def _go_modinfo(data: bytes) -> object:
    return go_binary.parse_modinfo("go1.21.0", data.decode("utf-8", "replace"))


def _dpkg_status(data: bytes) -> object:
    return dpkg.read_records(data, status_required=True)


def _apk(data: bytes) -> object:
    return [apk.split_licenses(r.fields.get("L", "")) for r in apk.records(data)]


def _os_release(data: bytes) -> object:
    return os_release.parse_os_release(data.decode("utf-8", "replace"))


def _jar(data: bytes) -> object:
    return java.directory_size(data), java.parse_manifest(data), java.parse_properties(data)


def _declared(analyzer: type[PackageFiles]) -> tuple[type[Exception], ...]:
    return analyzer.parse_errors


_PY = _declared(python.PythonPackages)
_NPM = _declared(npm.NpmPackages)

TARGETS: tuple[Target, ...] = (
    Target("dpkg-control", control.parse, (), (DPKG_STATUS, DEP5)),
    Target("dpkg-status", _dpkg_status, (), (DPKG_STATUS,)),
    Target("dpkg-copyright", dpkg.copyright_licenses, (), (DEP5,)),
    Target("apk-installed", _apk, (), (APK,)),
    Target("rpm-header", parse_package, (RpmdbError,), (RPM_HEADER,)),
    Target("rpm-database", read_database, (RpmdbError,), (RPM_HEADER[8:],)),
    Target("rpm-manifest", rpm.read_manifest, (), (RPM_MANIFEST,)),
    Target("python-metadata", python.parse_metadata, _PY, (METADATA,)),
    Target("python-requirements", python.parse_requirements, _PY, (REQUIREMENTS,)),
    Target("python-pipfile-lock", python.parse_pipfile_lock, _PY, (PIPFILE,), json=True),
    Target("python-poetry-lock", python._toml_packages, _PY, (POETRY,)),
    Target("python-egg", python.parse_egg, _PY, (egg(),)),
    Target("npm-package-json", npm.parse_package_json, _NPM, (PACKAGE_JSON,), json=True),
    Target("npm-package-lock", npm.parse_package_lock, _NPM, (PACKAGE_LOCK,), json=True),
    Target("npm-yarn-lock", npm.parse_yarn_lock, _NPM, (YARN,)),
    Target("npm-pnpm-lock", npm.parse_pnpm_lock, _NPM, (PNPM,)),
    Target("composer-lock", php.parse_composer_lock, _declared(php.ComposerPackages),
           (COMPOSER,), json=True),
    Target("composer-installed", php.parse_installed_json, _declared(php.ComposerPackages),
           (INSTALLED_JSON,), json=True),
    Target("ruby-gemspec", ruby.parse_gemspec, _declared(ruby.RubyGems), (GEMSPEC,)),
    Target("ruby-gemfile-lock", ruby.parse_gemfile_lock, _declared(ruby.RubyGems),
           (GEMFILE_LOCK,)),
    Target("dotnet-deps-json", dotnet.parse_deps_json, _declared(dotnet.DotnetDeps),
           (DEPS_JSON,), json=True),
    Target("dotnet-packages-lock", dotnet.parse_packages_lock, _declared(dotnet.DotnetDeps),
           (PACKAGES_LOCK,), json=True),
    Target("cargo-lock", rust.parse_cargo_lock, _declared(rust.CargoLock), (CARGO_LOCK,)),
    Target("cargo-auditable", rust.parse_audit_data, (rust.ParseError,), (AUDIT,)),
    Target("go-buildinfo", go_binary.read_buildinfo, (go_binary.BuildInfoError,), ()),
    Target("go-modinfo", _go_modinfo, (go_binary.BuildInfoError,), (MODINFO,)),
    Target("os-release", _os_release, (), (OS_RELEASE,)),
    Target("java-metadata", _jar, (), (MANIFEST, PROPERTIES)),
)
