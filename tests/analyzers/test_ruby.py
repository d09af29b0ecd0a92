"""RubyGems over real Gemfile.lock fixtures and rubygems-generated gemspecs at realistic paths.

Expected counts were taken independently of the analyzer (awk over 4-space lines, grouped by
the column-0 section header): rails/Gemfile.lock has 46 spec lines, all under GEM, one with a
platform suffix (``nokogiri (1.13.3-x86_64-linux)``); syft/Gemfile.lock has 50 under GEM, 1
under GIT (turbolinks), 1 under PATH (google-cloud-errors) and 1 under a made-up BAD-SECTION
that must be ignored: 52. No name appears twice in either file.
"""

from __future__ import annotations

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.ruby import RubyGems, parse_gemfile_lock, parse_gemspec, purl_of
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIX = DATA / "lang" / "ruby"
SPECS = "/usr/local/bundle/specifications"
DEFAULT_SPECS = "/usr/local/lib/ruby/gems/3.1.0/specifications/default"

# What rubygems 3.3 writes into specifications/ on ``gem install nokogiri`` (Gem::Specification
# #to_ruby), trimmed of the long file lists.
NOKOGIRI_GEMSPEC = '''\
# -*- encoding: utf-8 -*-
# stub: nokogiri 1.13.6 x86_64-linux lib

Gem::Specification.new do |s|
  s.name = "nokogiri".freeze
  s.version = "1.13.6"
  s.platform = "x86_64-linux".freeze

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.metadata = { "bug_tracker_uri" => "https://github.com/sparklemotion/nokogiri/issues", "changelog_uri" => "https://nokogiri.org/CHANGELOG.html", "rubygems_mfa_required" => "true", "source_code_uri" => "https://github.com/sparklemotion/nokogiri" } if s.respond_to? :metadata=
  s.require_paths = ["lib".freeze]
  s.authors = ["Mike Dalessio".freeze, "Aaron Patterson".freeze, "Yoko Harada".freeze]
  s.bindir = "bin".freeze
  s.date = "2022-05-08"
  s.description = "Nokogiri (\\u92F8) makes it easy and painless to work with XML and HTML from Ruby.".freeze
  s.email = "nokogiri-talk@googlegroups.com".freeze
  s.executables = ["nokogiri".freeze]
  s.homepage = "https://nokogiri.org".freeze
  s.licenses = ["MIT".freeze]
  s.rdoc_options = ["--main".freeze, "README.md".freeze]
  s.required_ruby_version = Gem::Requirement.new([">= 2.6".freeze, "< 3.2.dev".freeze])
  s.rubygems_version = "3.3.7".freeze
  s.summary = "Nokogiri (\\u92F8) makes it easy and painless to work with XML and HTML from Ruby.".freeze

  s.installed_by_version = "3.3.7" if s.respond_to? :installed_by_version

  if s.respond_to? :specification_version then
    s.specification_version = 4
  end

  if s.respond_to? :add_runtime_dependency then
    s.add_runtime_dependency(%q<racc>.freeze, ["~> 1.4"])
  else
    s.add_dependency(%q<racc>.freeze, ["~> 1.4"])
  end
end
'''

# rubygems 1.x style: %q{} strings, a singular license.
RACK_GEMSPEC = '''\
# -*- encoding: utf-8 -*-

Gem::Specification.new do |s|
  s.name = %q{rack}
  s.version = "1.1.0"

  s.required_rubygems_version = Gem::Requirement.new(">= 0") if s.respond_to? :required_rubygems_version=
  s.authors = [%q{Christian Neukirchen}]
  s.date = %q{2010-01-03}
  s.email = %q{chneukirchen@gmail.com}
  s.license = %q{MIT}
  s.require_paths = [%q{lib}]
  s.rubygems_version = %q{1.8.5}
  s.summary = %q{a modular Ruby webserver interface}
end
'''

# A default gem as Ruby itself installs it (version through Gem::Version, two licenses).
JSON_GEMSPEC = '''\
# -*- encoding: utf-8 -*-
# stub: json 2.6.1 ruby lib

Gem::Specification.new do |s|
  s.name = "json".freeze
  s.version = Gem::Version.new("2.6.1")

  s.require_paths = ["lib".freeze]
  s.authors = ["Florian Frank".freeze]
  s.licenses = ["Ruby".freeze, "BSD-2-Clause".freeze]
  s.rubygems_version = "3.3.3".freeze
  s.summary = "JSON Implementation for Ruby".freeze
end
'''


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


def _run(*layers: list[kit.Entry]) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return RubyGems().analyze(view, analysis_context())


def _by_purl(result: AnalysisResult) -> dict[str, Package]:
    return {p.purl or "": p for p in result.packages}


def test_spec_and_discovery() -> None:
    spec = RubyGems.spec
    assert spec.name == "ruby"
    assert spec.version == 1
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert isinstance(RubyGems(), TreeAnalyzer)
    assert RubyGems in analyzer_classes()


def test_purl() -> None:
    assert purl_of("rails", "7.0.2.2") == "pkg:gem/rails@7.0.2.2"


def test_rails_gemfile_lock() -> None:
    result = _run([kit.file("/app/Gemfile.lock", _fixture("rails/Gemfile.lock"))])
    assert result.warnings == []
    assert len(result.packages) == 46
    pkgs = _by_purl(result)
    rails = pkgs["pkg:gem/rails@7.0.2.2"]
    assert rails.type == "gem"
    assert rails.found_by == "ruby-lockfile"
    assert rails.properties == {"source": "rubygems"}
    assert rails.locations[0].path == "/app/Gemfile.lock"
    assert rails.locations[0].line == 110  # grep -n
    assert "pkg:gem/concurrent-ruby@1.1.9" in pkgs
    assert "pkg:gem/zeitwerk@2.5.4" in pkgs
    # the platform suffix is not part of the version
    nokogiri = pkgs["pkg:gem/nokogiri@1.13.3"]
    assert nokogiri.version == "1.13.3"
    assert nokogiri.properties["platform"] == "x86_64-linux"
    # dependency lines (6 spaces) and the DEPENDENCIES section add nothing
    assert "bundler" not in {p.name for p in result.packages}


def test_syft_gemfile_lock_all_bundler_sources() -> None:
    result = _run([kit.file("/srv/app/Gemfile.lock", _fixture("syft/Gemfile.lock"))])
    assert result.warnings == []
    assert len(result.packages) == 52
    pkgs = _by_purl(result)
    assert pkgs["pkg:gem/turbolinks@3.0.0"].properties == {"source": "git"}
    assert pkgs["pkg:gem/google-cloud-errors@1.3.0"].properties == {"source": "path"}
    assert pkgs["pkg:gem/arel@5.0.1.20140414130214"].properties == {"source": "rubygems"}
    assert "bad-entry" not in {p.name for p in result.packages}


def test_multi_platform_lock_is_one_package() -> None:
    text = (
        "GEM\n  remote: https://rubygems.org/\n  specs:\n"
        "    nokogiri (1.13.6)\n      racc (~> 1.4)\n"
        "    nokogiri (1.13.6-aarch64-linux)\n      racc (~> 1.4)\n"
        "    nokogiri (1.13.6-x86_64-linux)\n      racc (~> 1.4)\n"
        "    racc (1.6.0)\n\n"
        "PLATFORMS\n  aarch64-linux\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n"
    )
    assert [(f.name, f.version, f.line, dict(f.properties)) for f in
            parse_gemfile_lock(text.encode())] == [
        ("nokogiri", "1.13.6", 4,
         {"source": "rubygems", "platform": "aarch64-linux,x86_64-linux"}),
        ("racc", "1.6.0", 10, {"source": "rubygems"}),
    ]


def test_installed_gemspecs() -> None:
    result = _run([
        kit.file(f"{SPECS}/nokogiri-1.13.6-x86_64-linux.gemspec", NOKOGIRI_GEMSPEC),
        kit.file(f"{SPECS}/rack-1.1.0.gemspec", RACK_GEMSPEC),
        kit.file(f"{DEFAULT_SPECS}/json-2.6.1.gemspec", JSON_GEMSPEC),
    ])
    assert result.warnings == []
    pkgs = _by_purl(result)
    assert sorted(pkgs) == ["pkg:gem/json@2.6.1", "pkg:gem/nokogiri@1.13.6",
                            "pkg:gem/rack@1.1.0"]
    nokogiri = pkgs["pkg:gem/nokogiri@1.13.6"]
    assert nokogiri.licenses == ("MIT",)
    assert nokogiri.properties == {"platform": "x86_64-linux"}
    assert nokogiri.found_by == "ruby-gemspec"
    assert nokogiri.locations[0].path == f"{SPECS}/nokogiri-1.13.6-x86_64-linux.gemspec"
    assert pkgs["pkg:gem/rack@1.1.0"].licenses == ("MIT",)
    assert pkgs["pkg:gem/json@2.6.1"].licenses == ("Ruby", "BSD-2-Clause")


def test_gemspec_parser_ignores_dependency_versions() -> None:
    [found] = parse_gemspec(NOKOGIRI_GEMSPEC.encode())
    assert (found.name, found.version) == ("nokogiri", "1.13.6")


def test_gemspecs_outside_specifications_and_gem_sources_are_ignored() -> None:
    result = _run([
        kit.file("/usr/local/bundle/gems/rack-1.1.0/rack.gemspec", RACK_GEMSPEC),
        kit.file("/usr/local/bundle/gems/rack-1.1.0/Gemfile.lock",
                 _fixture("rails/Gemfile.lock")),
    ])
    assert result.packages == []
    assert result.warnings == []


def test_introduced_in_comes_from_the_layer() -> None:
    result = _run(
        [kit.file(f"{SPECS}/rack-1.1.0.gemspec", RACK_GEMSPEC)],
        [kit.file("/app/x.txt", "filler")],
        [kit.file("/app/Gemfile.lock", _fixture("rails/Gemfile.lock"))],
    )
    pkgs = _by_purl(result)
    assert pkgs["pkg:gem/rack@1.1.0"].introduced_in == 0
    rack = pkgs["pkg:gem/rack@2.2.3"]
    assert rack.introduced_in == 2
    assert rack.locations[0].layer == 2


def test_malformed_files_give_located_warnings() -> None:
    result = _run([kit.file("/app/x.txt", "filler")], [
        kit.file(f"{SPECS}/broken-1.0.gemspec", "Gem::Specification.new do |s|\nend\n"),
        kit.file("/app/Gemfile.lock", b"\xff\xfeGEM\n"),
        kit.file("/srv/Gemfile.lock", '{"not": "a lock file"}'),
        kit.file("/opt/app/Gemfile.lock", _fixture("rails/Gemfile.lock")),
    ])
    assert len(result.packages) == 46  # the good file is still read
    located = {(w.path, w.layer, w.analyzer) for w in result.warnings}
    assert located == {
        (f"{SPECS}/broken-1.0.gemspec", 1, "ruby"),
        ("/app/Gemfile.lock", 1, "ruby"),
        ("/srv/Gemfile.lock", 1, "ruby"),
    }
