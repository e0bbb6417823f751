"""The embedded model in its own process: real crashes, real signals, real bad files; the app never goes down."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import need
from tests.helpers import run
from tests.test_shutdown import _wait_for

need("llama_cpp", "the embedded model")
ROOT = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"
LONG = "Write a long story about a cat who learns to sail across the sea, with many details."


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its entry waits to be reaped


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _worker_of(pid: int, timeout: float = 60.0) -> int:
    """The llama worker process a running app or CLI started."""
    found: list[int] = []

    def look():
        for child in _children(pid):
            try:
                if b"llama_worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
                    return True
            except FileNotFoundError:
                continue
        return False

    _wait_for(look, "the llama worker process", timeout)
    return found[0]


def test_the_real_model_answers_a_chat_prompt_of_over_100_tokens_in_its_own_process(engine, fresh_model):
    system = ("You are the support assistant of a training programme. Answer questions about enrolment, course "
              "dates, certificates, refunds and the online classroom. Be brief, polite and exact; if you do not "
              "know, say so and point to the help desk, which is open on weekdays from nine to six. Refunds are "
              "given in full up to seven days before a course starts, and in half up to the day before.")
    text, result = run(engine, model=MODEL, system=system, prompt="How do I get a refund for a course I missed?",
                       max_tokens=24, temperature=0)
    assert result.ok, result.error
    assert result.record["input_tokens"] >= 100 and 0 < result.record["output_tokens"] <= 24
    assert text.strip() and result.record["usage_source"] == "provider"
    sup = fresh_model.supervisor(MODEL)
    assert sup.worker.pid != os.getpid() and _alive(sup.worker.pid)  # it ran in a child, not in this process


_DIRECT = """
import json, sys
from llama_cpp import Llama, llama_cpp as native
path, safe = sys.argv[1], sys.argv[2] == "1"
if not safe:  # the same AMX-safe settings as the worker, or this process would crash where the worker does not
    original = native.llama_model_default_params
    def defaults():
        params = original()
        params.use_extra_bufts = False
        return params
    native.llama_model_default_params = defaults
llm = Llama(model_path=path, n_ctx=8192, n_threads=2, verbose=False)
out = llm.create_chat_completion([{"role": "user", "content": "Name three colours."}], temperature=0,
                                 repeat_penalty=1.1, top_p=0.95, top_k=40, max_tokens=16)
print(json.dumps({"text": out["choices"][0]["message"]["content"], "usage": out["usage"]}))
"""


def test_greedy_output_is_llama_cpp_pythons_own(engine, fresh_model):
    """At temperature 0 the worker says, token for token, what llama-cpp-python used directly says."""
    import json

    from chat.engine.providers.llama_process import fast_path_is_safe

    text, result = run(engine, model=MODEL, prompt="Name three colours.", max_tokens=16, temperature=0)
    direct = subprocess.run([sys.executable, "-c", _DIRECT, str(fresh_model.bundled_model_path()),
                             "1" if fast_path_is_safe() else "0"], capture_output=True, text=True, timeout=300)
    assert direct.returncode == 0, direct.stderr[-2000:]
    expected = json.loads(direct.stdout)
    assert result.ok and text == expected["text"] and text.strip()
    assert result.record["input_tokens"] == expected["usage"]["prompt_tokens"]
    assert result.record["output_tokens"] == expected["usage"]["completion_tokens"]


def test_stop_reaches_the_worker_within_two_tokens_and_it_serves_the_next(engine, fresh_model):
    from chat.engine import ChatRequest, Chunk

    gen = engine.stream(ChatRequest(model=MODEL, prompt=LONG, max_tokens=300, temperature=0, session_id="stop"))
    seen = 0
    for item in gen:
        seen += isinstance(item, Chunk)
        if seen == 3:
            break
    gen.close()
    sup = fresh_model.supervisor(MODEL)
    assert sup.stopped_after is not None and sup.stopped_after <= 3 + 2  # the worker's own count of tokens made
    engine.store.flush()
    row = engine.store.query("SELECT * FROM exchanges WHERE session_id='stop'")[0]
    assert row["status"] == "aborted" and row["reply"]
    text, after = run(engine, model=MODEL, prompt="Say hi.", max_tokens=8, temperature=0)
    assert after.ok and text.strip()


def test_a_crash_mid_reply_costs_that_reply_and_the_next_in_line_is_served(engine, fresh_model):
    from chat.engine import ChatRequest, Result, Waiting

    fresh_model.preload()
    sup = fresh_model.supervisor(MODEL)
    first = engine.stream(ChatRequest(model=MODEL, prompt=LONG, max_tokens=300, temperature=0.7, session_id="one"))
    partial = [next(first).text, next(first).text]
    waiting, second = threading.Event(), {}

    def queued():
        for item in engine.stream(ChatRequest(model=MODEL, prompt="Say hello.", max_tokens=8, temperature=0,
                                              session_id="two")):
            if isinstance(item, Waiting):
                waiting.set()
            if isinstance(item, Result):
                second["result"] = item

    thread = threading.Thread(target=queued)
    thread.start()
    assert waiting.wait(30)
    crashed = sup.worker.pid
    os.kill(crashed, signal.SIGSEGV)
    items = list(first)
    thread.join(120)
    result = items[-1]
    assert isinstance(result, Result) and result.status == "error"
    assert "the local model's process crashed (SIGSEGV) and was restarted" in result.error
    assert "nothing was billed" in result.error and "Traceback" not in result.error
    reply = result.record["reply"]
    assert reply.startswith("".join(partial)) and len(reply) >= len("".join(partial))  # the partial text is kept
    assert result.record["cost_usd"] is not None and float(result.record["cost_usd"]) == 0
    assert second["result"].ok and second["result"].record["reply"].strip()  # served by the restarted worker
    assert sup.worker.pid != crashed and not _alive(crashed) and sup.restarts == 1
    # a worker that crashed before it ever finished a reply is restarted without llama.cpp's repacking path
    assert sup.settings.extra_bufts is False and sup.worker.ready["extra_bufts"] is False


def test_a_model_that_dies_at_every_load_is_unavailable_and_not_restarted_in_a_loop(engine, fresh_model):
    sup = fresh_model.supervisor(MODEL)
    killed: list[int] = []
    stop = threading.Event()

    def killer():
        # every worker is killed the moment it exists, long before it can load the model
        while not stop.is_set():
            worker = sup.worker
            if worker is not None and worker.pid not in killed:
                os.kill(worker.pid, signal.SIGKILL)
                killed.append(worker.pid)
            time.sleep(0.001)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        _, result = run(engine, model=MODEL, prompt="hi", max_tokens=4)
        _, again = run(engine, model=MODEL, prompt="hi again", max_tokens=4)
    finally:
        stop.set()
        thread.join()
    assert result.status == "error" and "was killed (SIGKILL" in result.error and "2 times in a row" in result.error
    assert len(killed) == 2  # tried twice, then given up on: no restart loop
    assert again.status == "error" and "is unavailable" in again.error
    usable, why = engine.resolve(MODEL).status()
    assert not usable and "not restarted again" in why


def test_signals_stop_the_worker_and_log_the_reply_aborted(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)):
        db = tmp_path / f"{sig.name}.db"
        env["CHAT_DB"] = str(db)
        proc = subprocess.Popen([sys.executable, "-m", "chat", "ask", "--max-tokens", "400", LONG], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            worker = _worker_of(proc.pid)
            os.set_blocking(proc.stdout.fileno(), False)
            _wait_for(lambda: (proc.stdout.read(1) or b"") != b"", "the first words", 120)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        assert proc.returncode == code, err
        _wait_for(lambda: not _alive(worker), f"the worker to end after {sig.name}", 30)
        row = sqlite3.connect(db).execute("SELECT status, reply, error FROM exchanges").fetchall()
        assert len(row) == 1 and row[0][0] == "aborted" and row[0][1], (sig.name, row)


def test_the_worker_exits_when_its_parent_is_killed(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["CHAT_DB"] = str(tmp_path / "chat.db")
    proc = subprocess.Popen([sys.executable, "-m", "chat", "ask", "--max-tokens", "400", LONG], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        worker = _worker_of(proc.pid)
        proc.kill()  # SIGKILL: no handler, no atexit, nothing of the app runs again
        proc.wait(30)
        _wait_for(lambda: not _alive(worker), "the orphaned worker to exit", 30)
    finally:
        proc.kill()


def test_sigsegv_in_the_worker_while_the_app_serves_two_sessions(fake, tmp_path):
    """demo.py: one session on the embedded model (whose worker crashes mid-reply, with a request queued behind
    it), another on an API model. The app stays up, the crash costs one reply, the API session never notices."""
    from gradio_client import Client

    from tests.browser import DemoProcess, demo_env
    from tests.fake_servers import Scenario

    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=[f"w{n} " for n in range(40)], gap=0.1)
    db = tmp_path / "demo.db"
    demo = DemoProcess(demo_env(fake.url, CHAT_DEFAULT_MODEL=MODEL), [], db)
    try:
        worker = _worker_of(demo.proc.pid)
        local, api, queued = (Client(demo.url, verbose=False) for _ in range(3))
        api_job = api.submit("count slowly", "gpt-4o-mini", "", 0.7, 100, api_name="/chat")
        local_job = local.submit(LONG, MODEL, "", 0.7, 400, api_name="/chat")

        def local_rows(status):
            conn = sqlite3.connect(db)
            try:
                return conn.execute("SELECT count(*) FROM exchanges WHERE model=? AND status=?", (MODEL, status)).fetchone()[0]
            except sqlite3.OperationalError:
                return 0
            finally:
                conn.close()

        _wait_for(lambda: local_rows("streaming") == 1, "the embedded reply to start")
        queued_job = queued.submit("Say hello.", MODEL, "", 0.0, 8, api_name="/chat")
        _wait_for(lambda: local_rows("streaming") == 2, "a second request in line")
        _wait_for(lambda: len(local_job.outputs()) >= 5, "some words of the embedded reply on the page")
        os.kill(worker, signal.SIGSEGV)
        local_job.result(timeout=120)
        queued_job.result(timeout=120)
        api_job.result(timeout=120)
        assert demo.proc.poll() is None, demo.output()  # the app is still serving
        restarted = _worker_of(demo.proc.pid)
        assert restarted != worker and not _alive(worker)
    finally:
        demo.stop()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = {r["prompt"]: dict(r) for r in conn.execute("SELECT * FROM exchanges")}
    crashed, served, other = rows[LONG], rows["Say hello."], rows["count slowly"]
    assert crashed["status"] == "error" and crashed["reply"], crashed
    assert "crashed (SIGSEGV) and was restarted" in crashed["error"]
    assert served["status"] == "ok" and served["reply"].strip()
    assert other["status"] == "ok" and other["reply"] == "".join(f"w{n} " for n in range(40))


def test_llama_cpps_repacking_path_is_used_only_where_amx_is_known_absent(tmp_path):
    from chat.engine.providers.llama_process import fast_path_is_safe

    sapphire_rapids = tmp_path / "spr"
    sapphire_rapids.write_text("flags\t\t: fpu vme avx2 avx512f avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8\n")
    epyc = tmp_path / "epyc"
    epyc.write_text("flags\t\t: fpu vme sse4_2 avx avx2 fma bmi2 sha_ni vaes vpclmulqdq\n")
    assert fast_path_is_safe(str(sapphire_rapids), "x86_64") is False
    assert fast_path_is_safe(str(epyc), "x86_64") is True
    assert fast_path_is_safe(str(tmp_path / "unreadable"), "x86_64") is False  # cannot tell: the safe path
    assert fast_path_is_safe(str(sapphire_rapids), "aarch64") is True  # AMX exists on x86 alone


def test_at_most_chat_local_workers_model_processes_exist_and_the_least_recently_used_goes(engine, fresh_model,
                                                                                           tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("CHAT_LOCAL_WORKERS", "2")
    files = []
    for name in ("a", "b", "c"):
        files.append(tmp_path / f"{name}.gguf")
        try:
            os.link(fresh_model.bundled_model_path(), files[-1])
        except OSError:
            shutil.copyfile(fresh_model.bundled_model_path(), files[-1])
    seen, watching = [], threading.Event()

    def count_workers():  # every worker process this test's process has, sampled all along
        while not watching.is_set():
            seen.append(sum(b"llama_worker" in _cmdline(c) for c in _children(os.getpid())))
            time.sleep(0.02)

    watcher = threading.Thread(target=count_workers, daemon=True)
    watcher.start()
    pids = {}
    for path in (files[0], files[1], files[0], files[2]):  # a, b, a again (now the most recent), then c
        assert run(engine, model=f"local:{path}", prompt="Say hello.", max_tokens=4, temperature=0)[1].ok
        pids[path.name] = fresh_model.supervisor(str(path)).worker.pid
    # c took b's place, as b was the least recently used; a stayed
    assert fresh_model.supervisor(str(files[1])).worker is None and not _alive(pids["b.gguf"])
    assert _alive(pids["a.gguf"]) and _alive(pids["c.gguf"])
    assert max(seen) == 2
    # with one place, three models asked at once take turns: each waits for the one answering, then takes its place
    fresh_model.llama_process.stop_all()
    monkeypatch.setenv("CHAT_LOCAL_WORKERS", "1")
    seen.clear()
    results = {}
    threads = [threading.Thread(target=lambda p=p: results.update({p.name: run(engine, model=f"local:{p}", prompt=LONG,
                                                                             max_tokens=40, temperature=0)[1]}))
               for p in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    watching.set()
    watcher.join()
    assert all(r.ok for r in results.values()) and len(results) == 3, {k: r.error for k, r in results.items()}
    assert max(seen) == 1
