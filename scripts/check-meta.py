#!/usr/bin/python3
"""check-meta.py — META.json against the PGXN Meta Spec v1.0.0, and against the tree.

The spec (https://pgxn.org/meta/spec.txt) as rules: the mandatory keys, the
types of every key used, terms, SemVer versions, version ranges, the known
licences, no unknown key but x_ ones.  Then the tree: the versions are
gpubill.control's default_version, the files named exist, the licence is
the LICENSE file's.  Prints TAP; exit status 1 on a failure.
"""
import json
import re
import sys

SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
RANGE_PART = r"(([=!]=|[<>]=?)\s*)?(" + SEMVER + r"|0)"
RANGE = re.compile(r"^" + RANGE_PART + r"(,\s*" + RANGE_PART + r")*$")
TERM = re.compile(r"^[^/\\\s\x00-\x1f\x7f]{2,}$")
TAG = re.compile(r"^[^/\\\x00-\x1f\x7f]{2,255}$")
LICENCES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
            "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
            "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source", "restricted",
            "unrestricted", "unknown"}
TOP = {"name", "version", "abstract", "maintainer", "license", "provides", "meta-spec", "description",
       "generated_by", "tags", "no_index", "prereqs", "release_status", "resources"}
MANDATORY = ["name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"]
errors = []


def fail(where, why):
    errors.append(f"{where}: {why}")


def custom(key):
    return re.match(r"^[xX]_.", key) is not None


def text(where, v):
    if not isinstance(v, str) or not v:
        fail(where, "must be a non-empty string")


def semver(where, v):
    if not isinstance(v, str) or not re.fullmatch(SEMVER, v):
        fail(where, f"must be a SemVer version, not {v!r}")


def keys(where, obj, allowed):
    if not isinstance(obj, dict):
        fail(where, "must be an object")
        return False
    for k in obj:
        if k not in allowed and not custom(k):
            fail(where, f"unknown key {k!r}")
    return True


def check(meta):
    if not keys("META.json", meta, TOP):
        return
    for k in MANDATORY:
        if k not in meta:
            fail("META.json", f"missing mandatory key {k!r}")
    if not isinstance(meta.get("name"), str) or not TERM.match(meta["name"]):
        fail("name", "must be a term: two or more characters, no slash, backslash, space or control character")
    semver("version", meta.get("version"))
    text("abstract", meta.get("abstract"))
    if "description" in meta:
        text("description", meta["description"])
    if "generated_by" in meta:
        text("generated_by", meta["generated_by"])
    m = meta.get("maintainer")
    if not (isinstance(m, str) and m) and not (isinstance(m, list) and m and all(isinstance(x, str) and x for x in m)):
        fail("maintainer", "must be a string or a non-empty list of strings")
    lic = meta.get("license")
    if isinstance(lic, str):
        if lic not in LICENCES:
            fail("license", f"unknown licence {lic!r}")
    elif isinstance(lic, list):
        if not lic or any(x not in LICENCES for x in lic):
            fail("license", "a list of known licences")
    elif isinstance(lic, dict):
        if not lic or any(not isinstance(u, str) or not re.match(r"^[a-z][a-z0-9+.-]*:", u) for u in lic.values()):
            fail("license", "an object of licence names to URIs")
    else:
        fail("license", "must be a string, a list or an object")
    p = meta.get("provides")
    if not isinstance(p, dict):
        fail("provides", "must be an object")
    else:
        if not p:
            fail("provides", "must name at least one extension")
        for name, ext in p.items():
            if custom(name):
                continue
            where = f"provides.{name}"
            if not TERM.match(name):
                fail(where, "the extension's name must be a term")
            if keys(where, ext, {"file", "version", "abstract", "docfile", "docpath"}):
                for k in ("file", "version"):
                    if k not in ext:
                        fail(where, f"missing mandatory key {k!r}")
                semver(where + ".version", ext.get("version"))
                for k in ("file", "docfile", "abstract"):
                    if k in ext:
                        text(f"{where}.{k}", ext[k])
    ms = meta.get("meta-spec")
    if keys("meta-spec", ms, {"version", "url"}):
        if not isinstance(ms.get("version"), str) or not re.fullmatch(r"1\.0\.\d+", ms["version"]):
            fail("meta-spec.version", "must be 1.0.x")
        if "url" in ms and ms["url"] not in ("https://pgxn.org/meta/spec.txt", "http://pgxn.org/meta/spec.txt"):
            fail("meta-spec.url", "must be the spec's URL")
    if "tags" in meta:
        t = meta["tags"]
        if not isinstance(t, list) or not t or any(not isinstance(x, str) or not TAG.match(x) for x in t):
            fail("tags", "a non-empty list of tags (2 to 255 characters, no slash, backslash or control character)")
    if "release_status" in meta and meta["release_status"] not in ("stable", "testing", "unstable"):
        fail("release_status", "must be stable, testing or unstable")
    if "prereqs" in meta and keys("prereqs", meta["prereqs"], {"configure", "build", "test", "runtime", "develop"}):
        for phase, rels in meta["prereqs"].items():
            if custom(phase):
                continue
            if keys(f"prereqs.{phase}", rels, {"requires", "recommends", "suggests", "conflicts"}):
                if not rels:
                    fail(f"prereqs.{phase}", "must not be empty")
                for rel, deps in rels.items():
                    if custom(rel):
                        continue
                    if not isinstance(deps, dict):
                        fail(f"prereqs.{phase}.{rel}", "must be an object")
                        continue
                    for dep, rng in deps.items():
                        where = f"prereqs.{phase}.{rel}.{dep}"
                        if not TERM.match(dep):
                            fail(where, "the prerequisite's name must be a term")
                        if not (rng == 0 or (isinstance(rng, str) and RANGE.match(rng))):
                            fail(where, f"not a version range: {rng!r}")
    if "resources" in meta:
        keys("resources", meta["resources"], {"homepage", "bugtracker", "repository"})
    if "no_index" in meta:
        keys("no_index", meta["no_index"], {"file", "directory"})


def check_tree(meta, root):
    control = open(f"{root}/gpubill.control").read()
    version = re.search(r"^default_version\s*=\s*'([^']*)'", control, re.M).group(1)
    if meta.get("version") != version:
        fail("version", f"{meta.get('version')!r} is not gpubill.control's default_version {version!r}")
    for name, ext in meta.get("provides", {}).items():
        if isinstance(ext, dict):
            if ext.get("version") != version:
                fail(f"provides.{name}.version", f"is not the control file's {version!r}")
            for k in ("file", "docfile"):
                try:
                    open(f"{root}/{ext[k]}").close()
                except (KeyError, OSError):
                    fail(f"provides.{name}.{k}", "names no file of the tree")
    if meta.get("license") == "postgresql" and "PostgreSQL License" not in open(f"{root}/LICENSE").read():
        fail("license", "LICENSE is not the PostgreSQL Licence")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    try:
        meta = json.load(open(f"{root}/META.json"))
    except (OSError, ValueError) as e:
        print("1..1\nnot ok 1 - META.json is JSON\n#   " + str(e))
        return 1
    check(meta)
    spec_errors = list(errors)
    errors.clear()
    check_tree(meta, root)
    print("1..2")
    for n, (errs, what) in enumerate([(spec_errors, "META.json follows the PGXN Meta Spec 1.0"),
                                      (errors, "META.json agrees with the tree (version, files, licence)")], 1):
        print(("ok" if not errs else "not ok") + f" {n} - {what}")
        for e in errs:
            print(f"#   {e}")
    return 1 if spec_errors or errors else 0


if __name__ == "__main__":
    sys.exit(main())
