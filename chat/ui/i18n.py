"""The app's words in English and Korean: labels through Gradio's I18n (the browser's language, or --lang),
and the sentences handlers write in the reader's language. The CLI and the log stay English."""
from __future__ import annotations

import hashlib
import os

import gradio as gr
from gradio.i18n import I18nData

from chat.wording import english

LANGS = ("en", "ko")

# English as the code writes it -> Korean. A template's {names} are filled in both languages alike.
KO = {
    # tabs and the page
    "Chat": "채팅", "Compare": "비교", "Runs": "실행", "Logs": "로그",
    "Every reply is metered — tokens, cost, time to first token, total time, tokens/s — and logged.":
        "모든 답변을 계량하고 기록합니다 — 토큰, 비용, 첫 토큰까지의 시간, 전체 시간, 초당 토큰.",
    # chat
    "Ask something and press Enter": "질문을 입력하고 Enter를 누르세요",
    "Send": "보내기", "Stop": "중지", "Retry": "다시 시도", "Undo": "되돌리기", "Clear": "지우기",
    "Model": "모델", "Type endpoint:model for any other model, e.g. ollama:llama3.2":
        "다른 모델은 endpoint:model 형식으로 입력하세요 (예: ollama:llama3.2)",
    "System prompt": "시스템 프롬프트", "Temperature": "온도", "Max tokens": "최대 토큰",
    "Unavailable models": "사용할 수 없는 모델",
    # compare
    "Models (2–4)": "모델 (2–4개)", "Blind: hide names until you vote, rate or reveal":
        "블라인드: 투표, 평가 또는 공개 전까지 모델 이름 숨기기",
    "Rater": "평가자", "your name (or log in)": "이름 (또는 로그인)",
    "One prompt, sent to every model at once; Enter sends": "하나의 프롬프트를 모든 모델에 동시에 보냅니다. Enter로 전송",
    "Send to all": "모두에게 보내기", "Reveal": "공개", "System prompt and max tokens": "시스템 프롬프트와 최대 토큰",
    "Best answer": "최고의 답변", "Rate": "평가", "Save rating": "평가 저장",
    # runs
    "Question set (YAML, CSV or .txt)": "질문 세트 (YAML, CSV 또는 .txt)", "…or an example": "…또는 예제",
    "System prompt (overrides the set's own)": "시스템 프롬프트 (세트의 프롬프트 대신 사용)",
    "Compare system prompts (variants)": "시스템 프롬프트 비교 (변형)",
    "Second system prompt": "두 번째 시스템 프롬프트", "Third system prompt": "세 번째 시스템 프롬프트",
    "each prompt becomes a variant: every model answers with each":
        "각 프롬프트가 하나의 변형이 되어, 모든 모델이 각각으로 답합니다",
    "Models": "모델", "Repeats": "반복", "Concurrency": "동시 실행",
    "Resume run id (optional: finished answers are skipped)": "이어서 실행할 run id (선택: 끝난 답변은 건너뜀)",
    "Run": "실행", "Cancel": "취소",
    "Pick a question set and models to see what the run will cost before it starts.":
        "질문 세트와 모델을 고르면 실행 전에 비용을 미리 보여 줍니다.",
    "Results of run": "실행 결과", "Refresh": "새로 고침",
    "Export CSV + HTML report (and a blind one)": "CSV + HTML 보고서 내보내기 (블라인드 보고서 포함)",
    "Report files": "보고서 파일", "Per model": "모델별",
    "Latency against cost": "지연 시간 대비 비용", "Cost per question": "질문당 비용",
    "Latency distribution": "지연 시간 분포",
    "Consistency across repeats (per question × model)": "반복 간 일관성 (질문 × 모델별)",
    "Ratings (human and judge apart)": "평가 (사람과 심판 모델 구분)",
    "What this run's tokens would cost on other models (approximate: tokenizers differ)":
        "이 실행의 토큰을 다른 모델에서 쓰면 드는 비용 (근사치: 토크나이저가 다름)",
    "Projected monthly cost (30 days) and where a self-hosted machine breaks even":
        "예상 월 비용 (30일)과 자체 서버가 손익분기에 이르는 지점",
    "Answers, side by side": "답변 나란히 보기", "Rate answers": "답변 평가",
    "your name": "이름", "Blind (hide the model)": "블라인드 (모델 숨기기)", "Next answer": "다음 답변",
    "Judge model (pre-fills ratings, shown apart from human ones)": "심판 모델 (평가를 미리 채움, 사람 평가와 구분)",
    "Judge model": "심판 모델", "Judge every answer of the run": "이 실행의 모든 답변 심사",
    # decision view
    "Decide: your constraints, the shortlist and the recommendation": "결정: 제약 조건, 후보 목록, 추천",
    "Slowest TTFT p95 (s)": "최대 TTFT p95 (초)", "Slowest latency p95 (s)": "최대 지연 시간 p95 (초)",
    "Lowest acceptable rate (%)": "최저 합격 비율 (%)", "Highest cost per question (USD)": "최대 질문당 비용 (USD)",
    "Questions a day (monthly cost, projection and break-even)": "하루 질문 수 (월 비용, 예상, 손익분기)",
    "Highest monthly cost (USD)": "최대 월 비용 (USD)", "Lowest {criterion} score": "최저 {criterion} 점수",
    "none (e.g. 1.5)": "없음 (예: 1.5)", "none (e.g. 3)": "없음 (예: 3)", "none (e.g. 90)": "없음 (예: 90)",
    "none (e.g. 0.002)": "없음 (예: 0.002)", "none (e.g. 50)": "없음 (예: 50)", "none (e.g. 4)": "없음 (예: 4)",
    "Shortlist (meets every constraint first, cheapest first; 95% intervals)":
        "후보 목록 (모든 제약을 충족하는 것 먼저, 싼 순서; 95% 구간)",
    "Cost against quality (colour: latency p95)": "비용 대비 품질 (색: 지연 시간 p95)",
    "Leading candidates compared, paired by question": "상위 후보 비교 (질문별 짝지음)",
    # logs
    "Time range": "기간", "From (custom)": "시작 (직접 입력)", "Until (custom)": "끝 (직접 입력)",
    "Providers": "제공자", "Status": "상태", "Search prompts and replies": "프롬프트와 답변 검색",
    "Session": "세션", "User": "사용자", "Token counts": "토큰 수", "Order": "정렬",
    "◀ Previous": "◀ 이전", "Next ▶": "다음 ▶", "Search": "검색", "Exchange id": "교환 id", "Show": "보기",
    "Parameters and raw usage": "매개변수와 원본 사용량", "Messages sent (exact)": "보낸 메시지 (그대로)",
    "Export format": "내보내기 형식", "Export filtered rows": "걸러진 행 내보내기", "Export": "내보내기",
    "newest": "최신순", "costliest": "비싼 순", "slowest": "느린 순", "any": "모두", "provider": "제공자 보고",
    "estimate": "추정", "custom": "직접 입력", "last hour": "최근 1시간", "today": "오늘", "7 days": "7일",
    "30 days": "30일", "all": "전체",
    "2026-11-01 or 2h": "2026-11-01 또는 2h", "2026-11-23T18:00": "2026-11-23T18:00", "환불, refund …": "환불, refund …",
    # the default rubric
    "Contains the answer to the question": "질문에 대한 답을 담고 있음",
    "Understood the intent and answered concisely": "의도를 이해하고 간결하게 답함",
    "Sounds natural, like a person": "사람처럼 자연스러움",
    # the meter and the session panel (written by handlers)
    "{n} in": "입력 {n}", "{n} out": "출력 {n}", "TTFT {t}": "첫 토큰 {t}", "total {t}": "전체 {t}",
    "stopped at max tokens": "최대 토큰에서 멈춤", "stopped by the provider's content filter": "제공자의 콘텐츠 필터로 멈춤",
    "**Session** · {n} requests · {i} in / {o} out tokens · {cost}": "**세션** · 요청 {n}회 · 토큰 입력 {i} / 출력 {o} · {cost}",
    "**Context** {bar} {used} / {window} tokens ({share})": "**컨텍스트** {bar} {used} / {window} 토큰 ({share})",
    "**Context** {used} tokens (window unknown for this model)": "**컨텍스트** {used} 토큰 (이 모델의 창 크기는 알 수 없음)",
    "{n} oldest turns were left out to fit the window": "창에 맞추려고 가장 오래된 대화 {n}개를 뺐습니다",
    "compute": "계산", "unpriced": "가격 없음",
    # table headers
    "Answers": "답변", "Error rate": "오류율", "Cost / question": "질문당 비용",
    "Cost / 1,000 questions": "질문 1,000개당 비용", "TTFT p95 ms": "TTFT p95 ms", "Latency p95 ms": "지연 p95 ms",
    "TTFT p50 ms": "TTFT p50 ms", "Latency p50 ms": "지연 p50 ms", "Tokens/s": "초당 토큰", "TTFT mean ms": "TTFT 평균 ms",
    "Latency mean ms": "지연 평균 ms", "Mean output tokens": "평균 출력 토큰", "Tokens estimated": "추정 토큰 비율",
    "Question": "질문", "Mean length (chars)": "평균 길이 (글자)", "Length spread (CV)": "길이 편차 (CV)",
    "Latency stdev ms": "지연 표준편차 ms", "Similarity": "유사도", "Rated by": "평가 주체", "Answers rated": "평가된 답변",
    "Acceptable": "합격", "Cost / acceptable answer": "합격 답변당 비용",
    "Approx. cost of this run's tokens": "이 실행 토큰의 대략적 비용", "Priced by": "가격 기준",
    "Always-on machines": "상시 가동 서버", "Cheaper than (from questions/day)": "더 저렴해지는 상대 (하루 질문 수 기준)",
    "Per month at {n}/day": "하루 {n}건일 때 월 비용", "Meets constraints": "제약 충족", "TTFT p95": "TTFT p95",
    "Latency p95": "지연 p95", "Mean score": "평균 점수", "Acceptable rate": "합격 비율",
    "Consistency across repeats": "반복 간 일관성", "{c} score": "{c} 점수", "Monthly at {n}/day": "하루 {n}건일 때 월 비용",
    "P(A faster, latency p95)": "P(A가 더 빠름, 지연 p95)", "P(A cheaper)": "P(A가 더 저렴)",
    "P(A better rated)": "P(A가 더 높게 평가됨)", "Repeats to separate": "구분에 필요한 반복",
    "Calls": "호출", "Input tokens": "입력 토큰", "Output tokens (low – high)": "출력 토큰 (낮음 – 높음)",
    "Cost (low – high)": "비용 (낮음 – 높음)", "Answering time": "답변 시간", "From past answers": "과거 답변 수",
    "Pick a run to decide on.": "결정할 실행을 고르세요.", "Pick a run.": "실행을 고르세요.",
    # the Runs tab's estimate and progress
    "**Estimate before any call** · {line}": "**호출 전 예상** · {line}",
    "{calls} calls · {cost}{bound} · about {time} at concurrency {concurrency}":
        "호출 {calls}회 · {cost}{bound} · 동시 실행 {concurrency}에서 약 {time}",
    "cost unknown: {models} unpriced": "비용 알 수 없음: {models} 가격 없음",
    " (no upper bound: set max tokens)": " (상한 없음: 최대 토큰을 정하세요)",
    "unknown (no past answers)": "알 수 없음 (과거 답변 없음)",
    ("Low: the model's mean answer length in this log (prompts alone when it has none); high: every answer running "
     "to max tokens."): "낮음: 이 로그에서 그 모델의 평균 답변 길이 (없으면 프롬프트만), 높음: 모든 답변이 최대 토큰까지 가는 경우.",
    "no bound": "상한 없음", "spend unknown (unpriced models)": "지출 알 수 없음 (가격 없는 모델)",
    "{spent} spent of {high} at most": "최대 {high} 중 {spent} 지출", " · about {time} left": " · 약 {time} 남음",
    "starting": "시작 중", "running": "실행 중", "done": "완료",
    "cancelled — resume with this run id": "취소됨 — 이 run id로 이어서 실행",
    "stopped with the app — resume with this run id": "앱과 함께 멈춤 — 이 run id로 이어서 실행",
    "failed ({error}) — resume with this run id": "실패 ({error}) — 이 run id로 이어서 실행",
    ("**Run `{run}`** · {done}/{total} answers · {failed} failed · {skipped} skipped (already done) · "
     "{money}{left} · {state}"): ("**실행 `{run}`** · 답변 {done}/{total} · 실패 {failed} · 건너뜀 {skipped} (이미 완료) · "
                                  "{money}{left} · {state}"),
    " · cancelling…": " · 취소 중…",
    # the Logs summary
    " that match the filters": " 중 필터에 맞는 것",
    "Showing your exchanges{matching} only (logged in as **{user}**).": "내 교환{matching}만 보여 줍니다 (**{user}**(으)로 로그인).",
    "Showing this browser session's exchanges{matching} only (the link is shared without logins).":
        "이 브라우저 세션의 교환{matching}만 보여 줍니다 (로그인 없이 공유된 링크).",
    "Log in to see your exchanges.": "로그인하면 내 교환을 볼 수 있습니다.",
    "Showing the exchanges in the log{matching}.": "로그의 교환{matching}을 보여 줍니다.",
    "Showing every exchange in the log.": "로그의 모든 교환을 보여 줍니다.",
    "**No exchanges match.**": "**맞는 교환이 없습니다.**", " (+{n} unpriced)": " (+가격 없음 {n}건)",
    ("**{n} exchanges** · errors {errors} · {i} in / {o} out tokens · spend **{spend}**{unpriced} · "
     "TTFT p50 {t50} / p95 {t95} · latency p50 {l50} / p95 {l95} · estimated tokens {est} of rows"):
        ("**교환 {n}건** · 오류 {errors} · 토큰 입력 {i} / 출력 {o} · 비용 **{spend}**{unpriced} · "
         "TTFT p50 {t50} / p95 {t95} · 지연 p50 {l50} / p95 {l95} · 추정 토큰 행 비율 {est}"),
    "Times in {tz}; the log keeps UTC.": "시간은 {tz} 기준입니다. 로그는 UTC로 보관합니다.",
    # the decision
    "{value} (only {n} answers: no interval)": "{value} (답변 {n}개뿐: 구간 없음)",
    "{name}: {why}, so it cannot be checked against {limit}": "{name}: {why}, 그래서 {limit} 기준을 확인할 수 없음",
    "no ratings": "평가 없음", "no answers": "답변 없음",
    "{name} {figure} is over {limit} by {by}": "{name} {figure}: {limit}보다 {by} 높음",
    "{name} {figure} is under {limit} by {by}": "{name} {figure}: {limit}보다 {by} 낮음",
    "No answers yet: nothing to decide.": "아직 답변이 없어 결정할 것이 없습니다.",
    "No candidate meets every constraint; the closest is {label}, which misses {n}: {miss}.":
        "모든 제약을 충족하는 후보가 없습니다. 가장 가까운 후보는 {label}이며 {n}개를 놓칩니다: {miss}.",
    "{name}: meets all constraints; it is the only candidate.": "{name}: 모든 제약 충족. 유일한 후보입니다.",
    "{name}: meets all constraints": "{name}: 모든 제약 충족", "{pct} cheaper than {other}": "{other}보다 {pct} 저렴",
    "costs about the same as {other}": "{other}와 비용이 비슷함", "{pct} dearer than {other}": "{other}보다 {pct} 비쌈",
    ", which misses {miss}": " (그 후보는 {miss} 충족 못 함)",
    "quality not compared (no ratings yet)": "품질은 비교하지 않음 (아직 평가 없음)",
    "quality indistinguishable from it at 95%": "95% 수준에서 품질 차이 없음",
    "quality better than it at 95%": "95% 수준에서 품질이 더 좋음", "quality worse than it at 95%": "95% 수준에서 품질이 더 나쁨",
    "; ": "; ", "{model} (variant {variant})": "{model} (변형 {variant})",
    "Scores are people's ratings.": "점수는 사람의 평가입니다.",
    "Scores are the judge model's ratings (no person has rated this run yet).":
        "점수는 심판 모델의 평가입니다 (아직 사람이 평가하지 않음).",
    "No ratings yet: scores, the acceptable rate and quality constraints wait for them.":
        "아직 평가가 없습니다: 점수, 합격 비율, 품질 제약은 평가가 있어야 합니다.",
    ("Intervals are 95%: a seeded bootstrap over questions, then repeats within them (Wilson's for rates). "
     "◆ marks the cost–quality frontier"):
        "구간은 95%입니다: 질문을, 그 안에서 반복을 다시 뽑는 시드 고정 부트스트랩 (비율은 Wilson). ◆는 비용–품질 경계",
    "yes": "예", "no: {misses}": "아니오: {misses}",
    "TTFT p50": "TTFT p50", "latency p50": "지연 p50", "latency p95": "지연 p95", "cost per question": "질문당 비용",
    "monthly cost": "월 비용", "failure rate": "실패율", "mean score": "평균 점수", "acceptable rate": "합격 비율",
    "consistency across repeats": "반복 간 일관성",
    "time": "시간", "model": "모델", "status": "상태", "in": "입력", "out": "출력", "cost": "비용",
    "latency": "지연", "tok/s": "초당 토큰", "user": "사용자", "prompt": "프롬프트",
}


def _key(text: str, values: dict) -> str:
    # the frontend reads dots in a key as nesting: keys are plain hashes of the template and its values
    return "t" + hashlib.sha1(repr((text, sorted(values.items()))).encode()).hexdigest()[:12]


class Catalogue:
    """The words the page shows, registered as the page is built, for gr.I18n."""

    def __init__(self):
        self.entries: dict[str, tuple[str, str]] = {}

    def t(self, text: str, **values) -> I18nData:
        """A label in the reader's language: the browser's, or the one --lang forces."""
        key = _key(text, values)
        self.entries[key] = (text.format(**values) if values else text,
                             KO.get(text, text).format(**values) if values else KO.get(text, text))
        return I18nData(key)

    def i18n(self, forced: str | None = None) -> gr.I18n:
        """For launch(): each language's words; with --lang, every language shows that one."""
        en = {k: v[0] for k, v in self.entries.items()}
        ko = {k: v[1] for k, v in self.entries.items()}
        if forced == "ko":
            return gr.I18n(en=ko, ko=ko)
        if forced == "en":
            return gr.I18n(en=en, ko=en)
        return gr.I18n(en=en, ko=ko)


def check_lang(value: str | None) -> str | None:
    """--lang / DEMO_LANG: ko or en (None: follow the browser); ValueError says what is allowed."""
    if not value:
        return None
    lang = value.strip().lower()
    if lang not in LANGS:
        raise ValueError(f"language {value[:20]!r}: use ko or en (or leave it unset to follow the browser)")
    return lang


def language(request: gr.Request | None) -> str:
    """The reader's language for what handlers write: DEMO_LANG if set, else the browser's Accept-Language."""
    forced = check_lang(os.environ.get("DEMO_LANG"))
    if forced:
        return forced
    headers = getattr(request, "headers", None) or {}
    accept = (headers.get("accept-language") or "") if hasattr(headers, "get") else ""
    first = accept.split(",")[0].strip().lower()
    return "ko" if first.startswith("ko") else "en"


def heads(head: list[str], lang: str) -> list[str]:
    """A table's column names in the reader's language (a name with a number in it by its template)."""
    if lang != "ko":
        return list(head)
    out = []
    for h in head:
        if h in KO:
            out.append(KO[h])
            continue
        for template in ("Per month at {n}/day", "Monthly at {n}/day", "{c} score"):
            before, _, after = template.partition("{")
            after = after.split("}", 1)[1]
            if h.startswith(before) and h.endswith(after) and len(h) > len(before) + len(after):
                value = h[len(before):len(h) - len(after)]
                out.append(say(template, "ko", **{template[len(before) + 1]: value}))
                break
        else:
            out.append(h)
    return out


def words(lang: str | None):
    """`say` for one reader, in the shape the meter's words take (chat.evaluation.meter_text.english)."""
    return lambda text, **values: say(text, lang or "en", **values)


def say(text: str, lang: str, **values) -> str:
    """A sentence a handler writes, in the reader's language."""
    return english(KO.get(text, text) if lang == "ko" else text, **values)


CATALOGUE = Catalogue()  # static page text, the same for every reader; each reader's language picks from it
t = CATALOGUE.t
