"""GGUF files a user may name with local:/path: each bad one is refused in one line, without a crash or a hang."""
from __future__ import annotations

import os
import struct
import threading
import time
import tracemalloc

import pytest

from tests.conftest import need
from tests.helpers import run

need("llama_cpp", "the embedded model")


@pytest.fixture
def real_model():
    from chat.engine.providers import llama_process
    from chat.engine.providers.local_llama import bundled_model_path

    yield bundled_model_path()
    llama_process.stop_all()


def _refused(engine, path, *words):
    """Ask local:path; the reply must be one readable line naming the file and the words, within bounded time."""
    done = {}
    thread = threading.Thread(target=lambda: done.update(r=run(engine, model=f"local:{path}", prompt="hi",
                                                                  max_tokens=4)[1]), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), f"asking local:{path} hung"
    result = done["r"]
    assert result.status == "error" and "\n" not in result.error and "Traceback" not in result.error, result.error
    assert f"local:{path} is unavailable: " in result.error, result.error
    for word in words:
        assert word in result.error, result.error
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "error" and row["error"] == result.error  # logged like any refusal
    return result.error


def _header(version=3, tensors=0, kvs=0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


def test_a_file_that_is_not_gguf(engine, tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("hello, this is a text file renamed to .gguf\n" * 10)
    _refused(engine, path, "is not a GGUF model file", "b'hell'")


def test_a_truncated_gguf(engine, tmp_path, real_model):
    path = tmp_path / "half.gguf"
    with open(real_model, "rb") as src:
        path.write_bytes(src.read(os.path.getsize(real_model) // 2))
    _refused(engine, path, "is truncated", "interrupted download or copy")
    cut_in_metadata = tmp_path / "head.gguf"
    cut_in_metadata.write_bytes(path.read_bytes()[:4096])
    _refused(engine, cut_in_metadata, "is truncated")


def test_a_forged_header_costs_no_memory(engine, tmp_path):
    from chat.engine.providers.gguf_check import BadGGUF, check

    path = tmp_path / "forged.gguf"
    path.write_bytes(_header(tensors=2**62, kvs=2**61) + b"\0" * 4096)
    tracemalloc.start()
    with pytest.raises(BadGGUF, match="header is forged"):
        check(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20  # nothing is allocated from the counts the file claims
    _refused(engine, path, "header is forged", f"{2**62:,} tensors")
    long_key = tmp_path / "long-key.gguf"
    long_key.write_bytes(_header(kvs=1) + struct.pack("<Q", 2**60) + b"\0" * 64)
    _refused(engine, long_key, "corrupt metadata key")
    wrong_version = tmp_path / "v9.gguf"
    wrong_version.write_bytes(_header(version=9) + b"\0" * 64)
    _refused(engine, wrong_version, "GGUF version 9")


def test_a_well_formed_file_llama_cpp_refuses_is_reported_from_its_own_process(engine, tmp_path, real_model):
    path = tmp_path / "empty-model.gguf"
    path.write_bytes(_header() + b"\0" * 64)  # a valid GGUF with no metadata and no tensors: nothing to run
    _refused(engine, path, "llama.cpp could not load")
    usable, why = engine.resolve(f"local:{path}").status()
    assert not usable and "llama.cpp could not load" in why


def test_dev_zero_a_folder_and_a_fifo(engine, tmp_path):
    zero = tmp_path / "zero.gguf"
    zero.symlink_to("/dev/zero")
    _refused(engine, zero, "not a regular file")
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    _refused(engine, folder, "is a folder")
    fifo = tmp_path / "pipe.gguf"
    os.mkfifo(fifo)
    _refused(engine, fifo, "not a regular file")  # opening a FIFO with no writer would block forever


def test_a_file_still_being_written_is_refused_then_works_once_complete(engine, tmp_path, real_model):
    path = tmp_path / "downloading.gguf"
    data = real_model.read_bytes()
    written = threading.Event()
    errors = []

    def writer():
        with open(path, "wb") as out:
            for start in range(0, len(data), 1 << 20):
                out.write(data[start:start + (1 << 20)])
                out.flush()
                written.set()
                time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    written.wait(10)
    while thread.is_alive():
        _, result = run(engine, model=f"local:{path}", prompt="hi", max_tokens=4)
        if thread.is_alive() or result.status != "ok":
            assert result.status == "error" and "\n" not in result.error, result.error
            errors.append(result.error)
        time.sleep(0.1)  # as a person would try again; a loop that never rests takes a core from the writer
    thread.join()
    assert errors and all("truncated" in e or "still being written" in e for e in errors), errors
    text, done = run(engine, model=f"local:{path}", prompt="Say hi.", max_tokens=8, temperature=0)
    assert done.ok and text.strip(), done.error  # the verdict on the half-written file was not kept
