"""The app's words in English and Korean: labels through Gradio's I18n (the browser's language, or --lang),
and the sentences handlers write in the reader's language. The CLI and the log stay English."""
from __future__ import annotations

import hashlib
import os

import gradio as gr
from gradio.i18n import I18nData

from chat.ui.untrusted import as_html_text
from chat.wording import Worded, english

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
    "What this run's text would cost on other models (its tokens translated through each model's ratio to our count)":
        "이 실행의 글을 다른 모델에서 쓰면 드는 비용 (각 모델의 토큰 비율로 환산)",
    "Approx. cost of this run's text": "이 실행 글의 대략적 비용",
    ("The same text on each model: this run's tokens translated into each model's through its tokens per token of "
     "our count (learned from its answers, or its family's prior). The {n} cheapest of {total} priced models."):
        "모델마다 같은 글: 이 실행의 토큰을 각 모델의 토큰 비율(응답에서 학습했거나 계열의 사전값)로 환산했습니다. "
        "가격 있는 모델 {total}개 중 가장 싼 {n}개.",
    "Projected monthly cost (30 days) and where a self-hosted machine breaks even":
        "예상 월 비용 (30일)과 자체 서버가 손익분기에 이르는 지점",
    "Answers, side by side": "답변 나란히 보기", "Rate answers": "답변 평가",
    "your name": "이름", "Blind (hide the model)": "블라인드 (모델 숨기기)", "Next answer": "다음 답변",
    "Judge model (pre-fills ratings, shown apart from human ones)": "심판 모델 (평가를 미리 채움, 사람 평가와 구분)",
    "Judge model": "심판 모델", "Judge every answer of the run": "이 실행의 모든 답변 심사",
    # decision view
    "Decide: your constraints, the shortlist and the recommendation": "결정: 제약 조건, 후보 목록, 추천",
    "Slowest TTFT p95 (s)": "최대 TTFT p95 (초)", "Slowest latency p95 (s)": "최대 지연 시간 p95 (초)",
    "Lowest acceptable rate (%)": "최저 합격 비율 (%)",
    "Questions a day (monthly cost, projection and break-even)": "하루 질문 수 (월 비용, 예상, 손익분기)",
    "Lowest {criterion} score": "최저 {criterion} 점수",
    "none (e.g. 1.5)": "없음 (예: 1.5)", "none (e.g. 3)": "없음 (예: 3)", "none (e.g. 90)": "없음 (예: 90)",
    "none (e.g. 0.002)": "없음 (예: 0.002)", "none (e.g. 50)": "없음 (예: 50)", "none (e.g. 4)": "없음 (예: 4)",
    "Shortlist (meets every constraint first, cheapest first; 95% intervals)":
        "후보 목록 (모든 제약을 충족하는 것 먼저, 싼 순서; 95% 구간)",
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
    # money and prices
    "{won} per 1,000": "1,000건당 {won}", "{won} per 1,000,000": "1,000,000건당 {won}",
    "Won at ₩{rate} per dollar, the rate you set on {date}; the log and exports stay in USD.":
        "원화는 {date}에 설정한 환율 1달러당 ₩{rate} 기준입니다. 로그와 내보내기는 USD로 유지됩니다.",
    ("Won at ₩{rate} per dollar, the rate you set (no date given: CHAT_USD_RATE_DATE); the log and "
     "exports stay in USD."): "원화는 설정한 환율 1달러당 ₩{rate} 기준입니다 (날짜 없음: CHAT_USD_RATE_DATE). "
                              "로그와 내보내기는 USD로 유지됩니다.",
    "{i} in / {o} out per 1M": "100만 토큰당 입력 {i} / 출력 {o}", "free (local)": "무료 (로컬)",
    " ÷ {n} at once": " ÷ 동시 {n}건", "${rate}/hour{shared} (compute)": "시간당 ${rate}{shared} (계산)",
    "Local": "로컬", "unpriced: this model has no entry in pricing.yaml": "가격 없음: pricing.yaml에 이 모델이 없습니다",
    "compute: {t} of machine time at its hourly price in pricing.yaml = {cost}":
        "계산: 서버 사용 {t} × pricing.yaml의 시간당 가격 = {cost}",
    "input {i} · cached {c} · cache write {w} · output {o} = {total}":
        "입력 {i} · 캐시 읽기 {c} · 캐시 쓰기 {w} · 출력 {o} = {total}",
    "Same tokens": "같은 토큰",
    "**Same tokens elsewhere**, cheapest first (approximate: tokenizers differ)":
        "**다른 모델에서 같은 토큰**, 싼 순서 (근사치: 토크나이저가 다름)",
    "{n} more models": "모델 {n}개 더 보기", "tokens estimated": "토큰 추정",
    "tokens reported by the provider": "제공자가 보고한 토큰",
    "waiting for the model: 1 request ahead of yours": "모델을 기다리는 중: 앞에 요청 1건",
    "waiting for the model: {n} requests ahead of yours": "모델을 기다리는 중: 앞에 요청 {n}건",
    "stopped": "멈춤", " + {n} unpriced": " + 가격 없음 {n}건", "Info": "알림",
    # statuses, rating kinds, criteria, bases: words in cells and legends (the log keeps the code's)
    "ok": "정상", "error": "오류", "aborted": "중단", "timeout": "시간 초과", "interrupted": "끊김",
    "streaming": "진행 중", "refused": "거부", "human": "사람", "judge": "심판 모델", "people": "사람",
    "answers": "답변", "concise": "간결", "natural": "자연스러움", "tokens": "토큰",
    "p95 under 1 s": "p95 1초 미만", "p95 1–3 s": "p95 1–3초", "p95 3–10 s": "p95 3–10초",
    "p95 10 s or more": "p95 10초 이상", "latency unknown": "지연 알 수 없음", "no": "아니오",
    # the chat and the page
    "## {title}": "## LLM 채팅 미터", "Your question": "질문", "Prompt": "프롬프트",
    "{model} takes no temperature; none is sent": "{model}은(는) 온도를 받지 않아 보내지 않습니다",
    "set {names} in .env": ".env에 {names}를 설정하세요",
    "set {names} in .env (the Foundry resource's …/models address and key)":
        ".env에 {names}를 설정하세요 (Foundry 리소스의 …/models 주소와 키)",
    "install the Bedrock extra: pip install 'anthropic[bedrock]' (it brings boto3)":
        "Bedrock 추가 기능을 설치하세요: pip install 'anthropic[bedrock]' (boto3 포함)",
    "set AWS_REGION in .env (or region in ~/.aws/config)": ".env에 AWS_REGION을 설정하세요 (또는 ~/.aws/config의 region)",
    ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in .env, or configure "
     "~/.aws/credentials"): ".env에 AWS_ACCESS_KEY_ID와 AWS_SECRET_ACCESS_KEY(또는 AWS_PROFILE)를 설정하거나 "
                            "~/.aws/credentials를 구성하세요",
    "install llama-cpp-python (pip install -r requirements.txt)": "llama-cpp-python을 설치하세요 (pip install -r requirements.txt)",
    # compare
    "your vote": "내 투표", "Model {letter}": "모델 {letter}",
    "meter hidden until you vote, rate or reveal": "투표, 평가 또는 공개 전까지 계량 정보를 숨깁니다",
    "choose 2 to {most} models to compare (you chose {n})": "비교할 모델을 2~{most}개 고르세요 ({n}개 고름)",
    "type a prompt to send to every model": "모든 모델에 보낼 프롬프트를 입력하세요",
    "nothing to vote on yet: send a prompt first": "아직 투표할 것이 없습니다: 먼저 프롬프트를 보내세요",
    "type your name in 'Rater' so the vote can be attributed": "투표한 사람을 기록하도록 '평가자'에 이름을 입력하세요",
    "Vote recorded for {name}": "{name}에 투표를 기록했습니다",
    "nothing to rate yet: send a prompt first": "아직 평가할 것이 없습니다: 먼저 프롬프트를 보내세요",
    "type your name in 'Rater' so the rating can be attributed": "평가한 사람을 기록하도록 '평가자'에 이름을 입력하세요",
    "Rating saved for {name}": "{name}의 평가를 저장했습니다",
    "pick a score for at least one criterion": "적어도 한 기준의 점수를 고르세요",
    "score every criterion before saving; not scored yet: {missing}": "저장하기 전에 모든 기준을 평가하세요. 아직 안 한 기준: {missing}",
    # runs
    "choose at least one model": "모델을 하나 이상 고르세요", "no run {run}": "{run} 실행이 없습니다",
    "no example {name}; pick one from the list": "{name} 예제가 없습니다. 목록에서 고르세요",
    "upload a question set (YAML, CSV or one question per line) or pick an example":
        "질문 세트(YAML, CSV 또는 한 줄에 질문 하나)를 올리거나 예제를 고르세요",
    "Reading the question set…": "질문 세트를 읽는 중…", "run {run}": "실행 {run}",
    "pick the run to cancel": "취소할 실행을 고르세요",
    " · unpriced (not plotted): {models}": " · 가격 없음 (차트에 없음): {models}",
    "**Run `{run}`** · {set} · {n} answers · {repeats} repeats": "**실행 `{run}`** · {set} · 답변 {n}개 · 반복 {repeats}회",
    "median latency (ms)": "지연 시간 중앙값 (ms)", "latency (ms)": "지연 시간 (ms)",
    "cost per question (USD)": "질문당 비용 (USD)", "pick a run first": "먼저 실행을 고르세요",
    "type your name in 'Rater' so ratings can be attributed": "평가한 사람을 기록하도록 '평가자'에 이름을 입력하세요",
    "All answers of this run are rated by you.": "이 실행의 답변을 모두 평가했습니다.",
    "hidden (blind)": "숨김 (블라인드)", "**Question** ({id}):": "**질문** ({id}):",
    "Model: {who} · {n} left to rate": "모델: {who} · 평가할 답변 {n}개 남음",
    "press 'Next answer' first": "먼저 '다음 답변'을 누르세요",
    "Saved. That answer was from **{model}**.": "저장했습니다. 그 답변은 **{model}**의 것이었습니다.",
    "Saved. The model stays hidden while Blind is ticked.": "저장했습니다. 블라인드가 켜져 있는 동안 모델은 숨겨집니다.",
    "**Reference answer**:": "**참고 답안**:",
    "pick a run and a judge model": "실행과 심판 모델을 고르세요", "judging with {model}": "{model}로 심사하는 중",
    "Judge {model} rated {n} answers.": "심판 {model}이(가) 답변 {n}개를 평가했습니다.",
    "{n} could not be rated (first reason: {why}).": "{n}개는 평가하지 못했습니다 (첫 이유: {why}).",
    "{n} s": "{n}초", "{n} min": "{n}분", "{n} h": "{n}시간", "All": "전체",
    "unpriced models: {models}": "가격 없는 모델: {models}", "{time} at concurrency {n}": "동시 실행 {n}에서 {time}",
    "Estimated before the run: {calls} calls, {guessed}, {time}. Actual: {n} calls, {actual}.":
        "실행 전 예상: 호출 {calls}회, {guessed}, {time}. 실제: 호출 {n}회, {actual}.",
    "about {time}": "약 {time}", "time unknown: none of these models has answered in this log yet":
        "시간 알 수 없음: 이 로그에서 아직 답한 적이 없는 모델입니다",
    "(expected {cost})": "(예상 {cost})", "(expected {n})": "(예상 {n})",
    "learned from {n} answers": "응답 {n}개에서 학습", "prior: {family}": "사전값: {family}",
    "learned from {n}": "응답 {n}개에서 학습", "prior": "사전값", "Its tokens": "토큰 비율",
    "**Same text elsewhere**, cheapest first: its tokens translated to each model's through that model's ratio to "
    "our count (learned from its answers, or its family's prior)":
        "**같은 텍스트, 다른 모델**, 저렴한 순: 각 모델의 토큰 비율(응답에서 학습했거나 모델 계열의 사전값)로 "
        "우리 토큰 수를 그 모델의 토큰으로 환산",
    (" (high: up to {n} tokens an answer, what caps reserve; set max tokens to bound it yourself)"):
        " (높음: 답변당 최대 {n} 토큰, 한도가 예약하는 양. 직접 정하려면 최대 토큰을 설정하세요)",
    "{n} (margin {margin} points)": "{n} (차이 {margin}점 기준)",
    # the decision view's boxes
    "{what} must be a number, got {value}": "{what}은(는) 숫자여야 합니다. 입력: {value}",
    "{what} must be from {low} to {high}, got {value}": "{what}은(는) {low}에서 {high} 사이여야 합니다. 입력: {value}",
    "{what} must be an amount in USD": "{what}은(는) USD 금액이어야 합니다", "lowest {c} score": "최저 {c} 점수",
    "questions a day must be a whole number": "하루 질문 수는 정수여야 합니다",
    "lowest acceptable rate (%)": "최저 합격 비율 (%)", "questions a day": "하루 질문 수",
    "slowest TTFT p95 (s)": "최대 TTFT p95 (초)", "slowest latency p95 (s)": "최대 지연 시간 p95 (초)",
    "highest cost per question": "최대 질문당 비용", "highest monthly cost": "최대 월 비용",
    # logs
    "day": "날짜", "replies": "답변 수", "exchanges": "교환 수", "page {n} of {pages}": "{pages}쪽 중 {n}쪽",
    "Select a row to see what was sent and received.": "행을 고르면 보낸 것과 받은 것을 보여 줍니다.",
    "No exchange `{id}` that you can see.": "볼 수 있는 교환 중 `{id}`가 없습니다.",
    "session": "세션", "run": "실행", "Meter": "계량", "Cost": "비용", "Error": "오류", "Reply": "답변",
    "What was sent": "보낸 내용", " ({n} oldest turns trimmed to fit)": " (창에 맞추려고 가장 오래된 대화 {n}개를 뺌)",
    "Provider-reported latency {theirs} ms (ours, end to end: {ours} ms)":
        "제공자가 보고한 지연 시간 {theirs} ms (우리가 잰 전체 시간: {ours} ms)",
    "Exported {n} exchanges (the newest {limit}; `python -m chat logs --csv -n 0` exports everything).":
        "교환 {n}건을 내보냈습니다 (최신 {limit}건. 전부는 `python -m chat logs --csv -n 0`).",
    "Exported {n} exchanges.": "교환 {n}건을 내보냈습니다.",
    "Spend per day (USD)": "일별 지출 (USD)", "Latency distribution (newest 5,000)": "지연 시간 분포 (최신 5,000건)",
    "Failures per day": "일별 실패",
    # the answers and the report
    "Reference": "참고 답안", "no answer yet": "아직 답변 없음", "all {n} repeats": "반복 {n}회 모두",
    "no acceptable answer": "합격 답변 없음", "No priced, successful answers to plot.": "차트에 넣을, 가격 있는 성공 답변이 없습니다.",
    "median latency (ms) → up to {top}": "지연 시간 중앙값 (ms) → 최대 {top}", "No priced answers.": "가격 있는 답변이 없습니다.",
    "No successful answers.": "성공한 답변이 없습니다.",
    "{n} × {each}/month = {total} (one serves ≤ {capacity}/day)": "{n}대 × 월 {each} = {total} (한 대가 하루 ≤ {capacity}건)",
    "{model} from {n}/day": "하루 {n}건부터 {model}", "{model}: never (beyond one machine's capacity)":
        "{model}: 해당 없음 (서버 한 대의 용량 초과)",
    "No candidate is both priced and rated yet, so there is no cost–quality chart.":
        "가격과 평가가 모두 있는 후보가 아직 없어 비용–품질 차트가 없습니다.",
    "cost per question (USD) → up to {top}": "질문당 비용 (USD) → 최대 {top}", "mean score ({lo}–{hi})": "평균 점수 ({lo}–{hi})",
    ("Larger dots are slower (latency p95); ◆ and the dashed line mark the frontier: no other candidate is both "
     "cheaper and better rated."): "점이 클수록 느립니다 (지연 p95). ◆와 점선은 경계입니다: 더 싸면서 더 높게 평가된 다른 후보가 없습니다.",
    "No constraints were set: the shortlist is simply cheapest first.": "제약 조건이 없어 후보 목록은 단순히 싼 순서입니다.",
    "Recommendation": "추천", "Constraints": "제약 조건", "Shortlist": "후보 목록", "Cost against quality": "비용 대비 품질",
    "Leading candidates compared": "상위 후보 비교",
    ("Approximate: the same text is a different number of tokens on each vendor's tokenizer. The {n} cheapest of "
     "{total} priced models."): "근사치: 같은 글도 회사마다 토크나이저의 토큰 수가 다릅니다. 가격 있는 모델 {total}개 중 가장 싼 {n}개.",
    "Appendix: what these tokens would cost elsewhere": "부록: 같은 토큰을 다른 모델에서 쓰면 드는 비용",
    "the other {n} models": "나머지 모델 {n}개", "Question set": "질문 세트", "blind": "블라인드",
    "{n} answers · {models} · {repeats} repeats each · run {run} · costs from pricing.yaml":
        "답변 {n}개 · {models} · 각 {repeats}회 반복 · 실행 {run} · 비용은 pricing.yaml 기준",
    ("Blind report: models are named by letter and the key is in a separate file. Cost and speed are left out until "
     "the key is opened, because they would give the models away."):
        ("블라인드 보고서: 모델은 글자로 부르고, 대응표는 별도 파일에 있습니다. "
         "비용과 속도는 모델을 드러내므로 대응표를 열기 전까지 뺐습니다."),
    "Ratings": "평가", "Human and judge ratings are kept apart.": "사람 평가와 심판 모델 평가는 따로 보여 줍니다.",
    "Projected monthly cost at {n} questions a day": "하루 {n}건일 때 예상 월 비용",
    "Meter: tokens in and out, cost, time to first token and in total.": "계량: 입력·출력 토큰, 비용, 첫 토큰까지와 전체 시간.",
    "Each question's first repeat per model; open “all repeats” for the rest.":
        "질문마다 모델별 첫 반복을 보여 줍니다. 나머지는 “반복 모두”를 여세요.",
    "Answers side by side": "답변 나란히 보기",
    ("Length spread is the coefficient of variation of answer length; similarity is the mean pairwise overlap of "
     "character trigrams between the repeated answers (1 = identical)."):
        "길이 편차는 답변 길이의 변동계수이고, 유사도는 반복 답변 사이의 글자 3-gram 평균 겹침입니다 (1 = 같음).",
    ("Per month = the measured cost per question × questions a day × 30. A self-hosted model priced by the hour is "
     "metered by the time each answer held the machine; kept on all month it costs its hourly price × 720, and it "
     "is cheaper than an API model once the API's cost of a day's questions passes the machine's day."):
        "월 비용 = 측정한 질문당 비용 × 하루 질문 수 × 30. 시간당 가격의 자체 서버 모델은 답변마다 서버를 쓴 시간으로 계량합니다. "
        "한 달 내내 켜 두면 시간당 가격 × 720이고, 하루 질문의 API 비용이 서버의 하루 비용을 넘으면 API 모델보다 쌉니다.",
    ("With the FAQ cached: the system prompt is billed as its vendor bills a cached prefix, written on a miss and "
     "read on a hit. A question finds it cached when the one before came within the cache's 5 minutes, questions "
     "arriving at random over 9:00–18:00."):
        "FAQ 캐시 적용: 시스템 프롬프트를 공급자가 캐시된 접두부에 청구하는 방식대로 계산합니다(없으면 쓰기, 있으면 읽기). "
        "9:00–18:00에 질문이 무작위로 온다고 보고, 앞 질문이 캐시 유지 시간 5분 안에 왔으면 캐시를 찾습니다.",
    "With the FAQ cached": "FAQ 캐시 적용",
    "as the set says": "질문 세트 설정대로", "auto": "자동", "off": "끄기",
    "Prompt cache (marks the system prompt where the vendor must be asked)":
        "프롬프트 캐시 (공급자에게 요청해야 하는 경우 시스템 프롬프트에 캐시 표시)",
    "Korean": "한국어", "Latin text": "라틴 문자 텍스트", "Tokens each vendor bills": "공급자별 청구 토큰",
    "{script} costs {ratio}× the tokens on {model} (from {n} answers)": "{model}에서 {script}는 토큰이 {ratio}배 (응답 {n}개 기준)",
    ("Per token of our own count (o200k_base, OpenAI's tokenizer) of what was sent, from the input tokens each vendor "
     "reported for this run's answers."):
        "보낸 내용을 우리가 센 토큰(o200k_base, OpenAI 토크나이저) 하나당, 이 실행의 답변에서 공급자가 보고한 입력 토큰 수입니다.",
    "{cached} ({plain} without; {share} of questions find it cached)": "{cached} (캐시 없이 {plain}; 질문의 {share}가 캐시 사용)",
    "{label}: {day} of questions ({run} in this run)": "{label}: 질문의 {day} (이번 실행에서는 {run})",
    "Costs at {n} a day bill the FAQ as its vendor caches it, with the questions at random over 9:00–18:00 and a "
    "5-minute cache; the run asked them seconds apart, so it found the FAQ cached more often. Found cached: {shares}.":
        "하루 {n}건일 때의 비용은 FAQ를 공급사가 캐시하는 방식대로 계산했습니다. 질문은 9:00–18:00에 무작위로 오고 캐시는 "
        "5분 유지된다고 보았습니다. 실행은 질문을 몇 초 간격으로 보냈으므로 FAQ가 더 자주 캐시에서 읽혔습니다. 캐시 사용: {shares}.",

    "{n} not rated: the daily spend cap was reached.": "{n}개는 평가하지 못함: 일일 지출 한도에 도달했습니다.",
    "{n} not rated: this session's spend cap was reached.": "{n}개는 평가하지 못함: 이 세션의 지출 한도에 도달했습니다.",
    "{n} not rated: your spend cap was reached.": "{n}개는 평가하지 못함: 사용자 지출 한도에 도달했습니다.",
    # a question set that cannot be read (an upload in the Runs tab)
    ("{where}: line {line}: control character U+{code} is not allowed in a question set; remove it and upload "
     "again"): "{where}: {line}번째 줄: 제어 문자 U+{code}는 질문 세트에 쓸 수 없습니다. 지우고 다시 올리세요",
    ("{where}: 'variants' must list 1 to {most} mappings, each with a 'name' and any of system, temperature, "
     "max_tokens"): "{where}: 'variants'에는 'name'과 system, temperature, max_tokens 중 필요한 것을 담은 항목을 1~{most}개 적으세요",
    "{where}: question {n}: '{field}' must be text, got a {kind}": "{where}: 질문 {n}: '{field}'은(는) 글이어야 합니다 ({kind}임)",
    "{where}: question {n}: '{field}' is {chars} characters; at most {most}":
        "{where}: 질문 {n}: '{field}'이(가) {chars}자입니다. 최대 {most}자",
    "{where}: {n} questions; a set holds at most {most}: split it": "{where}: 질문이 {n}개입니다. 한 세트는 최대 {most}개: 나누세요",
    "{where}: question ids must be unique; repeated: {ids}": "{where}: 질문 id는 겹치면 안 됩니다. 겹친 id: {ids}",
    "{where}: no questions found": "{where}: 질문을 찾지 못했습니다",
    "{where}: the file is {chars} characters; at most {most}: split it": "{where}: 파일이 {chars}자입니다. 최대 {most}자: 나누세요",
    "{where}: 'set' must name a question file beside it, e.g. set: training_faq.yaml":
        "{where}: 'set'에는 옆에 있는 질문 파일 이름을 적으세요 (예: set: training_faq.yaml)",
    "{where}: 'models' must be a list of up to {most} model names": "{where}: 'models'는 모델 이름 최대 {most}개의 목록이어야 합니다",
    "{where}: variant {n} must be a mapping with a 'name', got a {kind}":
        "{where}: 변형 {n}은(는) 'name'이 있는 항목이어야 합니다 ({kind}임)",
    "{where}: variant {n}: unknown field(s) {fields}; a variant takes name, system, temperature, "
    "max_tokens and cache":
        "{where}: 변형 {n}: 모르는 항목 {fields}. 변형에는 name, system, temperature, max_tokens, cache만 씁니다",
    "{where}: variant {n} needs a 'name' of 1 to {most} printable characters":
        "{where}: 변형 {n}에는 1~{most}자의 'name'이 필요합니다",
    "{where}: variant name {name} appears twice": "{where}: 변형 이름 {name}이(가) 두 번 나옵니다",
    "{where}: question {n} must be text or a mapping with 'question', got a {kind}":
        "{where}: 질문 {n}은(는) 글이거나 'question'이 있는 항목이어야 합니다 ({kind}임)",
    "{where}: question {n} has no 'question' text": "{where}: 질문 {n}에 'question' 글이 없습니다",
    "{where}: the file is {mb} MB; a question set may be at most {most} MB: split it":
        "{where}: 파일이 {mb} MB입니다. 질문 세트는 최대 {most} MB: 나누세요",
    "{where}: cannot read the question set ({why})": "{where}: 질문 세트를 읽을 수 없습니다 ({why})",
    "{where}: not UTF-8 text; save it as UTF-8": "{where}: UTF-8 텍스트가 아닙니다. UTF-8로 저장하세요",
    "{where}: {why}": "{where}: {why}",
    "{where}: the set {ref} is itself a study file; name a question file":
        "{where}: {ref} 세트는 그 자체가 연구 파일입니다. 질문 파일을 적으세요",
    "{where}: variant {name}: {why}": "{where}: 변형 {name}: {why}",
    "{where}: expected a list of questions or a mapping with 'questions:'":
        "{where}: 질문 목록이나 'questions:'가 있는 항목이어야 합니다",
    "{where}: the CSV needs a header row with a 'question' column (and optional id, reference)":
        "{where}: CSV 첫 줄에 'question' 열이 있어야 합니다 (id, reference는 선택)",
    # failures, as the chat and Compare show them (the log keeps them in English)
    ("{endpoint} was still replying after {s}s (CHAT_MAX_SECONDS), so the reply was stopped; the partial "
     "text is kept. Lower max tokens or raise CHAT_MAX_SECONDS"):
        "{endpoint}이(가) {s}초가 지나도 답하고 있어 답변을 멈췄습니다 (CHAT_MAX_SECONDS). 받은 부분은 남겨 둡니다. "
        "최대 토큰을 줄이거나 CHAT_MAX_SECONDS를 늘리세요",
    "stopped before the reply finished": "답변이 끝나기 전에 멈췄습니다",
    "interrupted (Ctrl-C or a stop signal) before the reply finished": "답변이 끝나기 전에 중단되었습니다 (Ctrl-C 또는 중지 신호)",
    "the app shut down before the reply finished": "답변이 끝나기 전에 앱이 종료되었습니다",
    "internal error ({type}): {detail}": "내부 오류 ({type}): {detail}",
    "the app is shutting down: nothing was sent; try again in a moment":
        "앱이 종료되는 중입니다: 아무것도 보내지 않았습니다. 잠시 후 다시 시도하세요",
    "{model} is unavailable: {why}": "{model}을(를) 사용할 수 없습니다: {why}",
    "the log cannot be reached, so no spend cap can be checked: nothing was sent; try again in a moment ({detail})":
        "로그에 연결할 수 없어 지출 한도를 확인할 수 없습니다. 아무것도 보내지 않았습니다. 잠시 후 다시 시도하세요 ({detail})",
    "local models are limited to the ones this server offers; choose one from the model menu "
    "(its operator adds folders with --models-dir)":
        "로컬 모델은 이 서버가 제공하는 것만 쓸 수 있습니다. 모델 메뉴에서 고르세요 (운영자가 --models-dir로 폴더를 추가합니다)",
    "the message is empty: type a question first": "메시지가 비어 있습니다: 먼저 질문을 입력하세요",
    "the message is {chars} characters; at most {limit} can be sent to any model: shorten it":
        "메시지가 {chars}자입니다. 어떤 모델에도 최대 {limit}자까지만 보낼 수 있습니다: 줄여 주세요",
    " plus {n} reserved for the reply (max tokens)": " + 답변용으로 예약한 {n} (최대 토큰)",
    ("the message is about {tokens} tokens{reserve}, more than {model}'s window of {window}: shorten it, "
     "lower max tokens, or pick a model with a larger window. Nothing was sent"):
        "메시지가 약 {tokens} 토큰{reserve}으로 {model}의 창 {window}보다 큽니다: 줄이거나, 최대 토큰을 낮추거나, "
        "창이 더 큰 모델을 고르세요. 아무것도 보내지 않았습니다",
    ("{model} has no price in pricing.yaml, so the spend cap cannot be enforced for it: add its price to "
     "pricing.yaml (0 if it is free) or pick a priced model"):
        "{model}은(는) pricing.yaml에 가격이 없어 지출 한도를 적용할 수 없습니다: pricing.yaml에 가격을 넣거나 "
        "(무료면 0) 가격이 있는 모델을 고르세요",
    "too many requests: at most {n} a minute per session; try again in {s} s":
        "요청이 너무 많습니다: 세션당 1분에 최대 {n}회입니다. {s}초 후 다시 시도하세요",
    "cannot set up {endpoint}: {detail}": "{endpoint}을(를) 설정할 수 없습니다: {detail}",
    ("daily spend cap reached: {spent} of {limit} used today (UTC) across all users and processes; this "
     "request may cost up to {need}. No call was made. Use the embedded local model, lower max tokens, or "
     "try again tomorrow"):
        "일일 지출 한도에 도달했습니다: 오늘(UTC) 모든 사용자와 프로세스가 {limit} 중 {spent}을(를) 썼고, 이 요청은 "
        "최대 {need}이(가) 들 수 있습니다. 호출하지 않았습니다. 내장 로컬 모델을 쓰거나, 최대 토큰을 낮추거나, 내일 다시 시도하세요",
    ("session spend cap reached: {spent} of {limit} used in this browser session (every tab counts); this "
     "request may cost up to {need}. No call was made. Use the embedded local model, lower max tokens, or "
     "ask the host to raise CHAT_SESSION_CAP_USD"):
        "세션 지출 한도에 도달했습니다: 이 브라우저 세션(모든 탭 포함)에서 {limit} 중 {spent}을(를) 썼고, 이 요청은 "
        "최대 {need}이(가) 들 수 있습니다. 호출하지 않았습니다. 내장 로컬 모델을 쓰거나, 최대 토큰을 낮추거나, "
        "호스트에게 CHAT_SESSION_CAP_USD를 올려 달라고 하세요",
    ("your daily spend cap is reached: {spent} of {limit} used today (UTC) by this login; this request may "
     "cost up to {need}. No call was made. Use the embedded local model or try again tomorrow"):
        "내 일일 지출 한도에 도달했습니다: 이 로그인으로 오늘(UTC) {limit} 중 {spent}을(를) 썼고, 이 요청은 최대 "
        "{need}이(가) 들 수 있습니다. 호출하지 않았습니다. 내장 로컬 모델을 쓰거나 내일 다시 시도하세요",
    "its default address": "기본 주소",
    "{name} refused {model}{code}: {detail}": "{name}이(가) {model}을(를) 거부했습니다{code}: {detail}",
    "{name} failed{code}: {detail}": "{name} 실패{code}: {detail}",
    "check {var} in .env": ".env의 {var}를 확인하세요", "check the endpoint's credentials": "엔드포인트의 자격 증명을 확인하세요",
    "{name} rejected the credentials{code}: {where}": "{name}이(가) 자격 증명을 거부했습니다{code}: {where}",
    "{name} is rate limiting or overloaded{code} ({detail}): wait a moment and retry, or lower concurrency":
        "{name}이(가) 요청을 제한하거나 과부하 상태입니다{code} ({detail}): 잠시 후 다시 시도하거나 동시 실행을 줄이세요",
    "{name} sent nothing for {s}s, so the request timed out: retry, or raise CHAT_TIMEOUT":
        "{name}이(가) {s}초 동안 아무것도 보내지 않아 요청 시간이 초과되었습니다: 다시 시도하거나 CHAT_TIMEOUT을 늘리세요",
    ("could not connect to {name} at {url} within {s}s (CHAT_CONNECT_TIMEOUT): is it running and "
     "reachable? Nothing was sent, nothing billed"):
        "{s}초 안에 {url}의 {name}에 연결하지 못했습니다 (CHAT_CONNECT_TIMEOUT): 실행 중이고 접근할 수 있나요? "
        "아무것도 보내지 않았고 청구된 것도 없습니다",
    "{name} ended the stream without its end marker{code}: the reply was cut off":
        "{name}이(가) 종료 표시 없이 스트림을 끝냈습니다{code}: 답변이 잘렸습니다",
    "{detail} — is {name} running at {url}? Nothing was sent, nothing billed":
        "{detail} — {url}에서 {name}이(가) 실행 중인가요? 아무것도 보내지 않았고 청구된 것도 없습니다",
    "{detail} — is {name} running at {url}?": "{detail} — {url}에서 {name}이(가) 실행 중인가요?",
    "; nothing was billed": "; 청구된 것은 없습니다",
    "{name} does not serve model {model}{code}: check the name (python -m chat models)":
        "{name}은(는) {model} 모델을 제공하지 않습니다{code}: 이름을 확인하세요 (python -m chat models)",
    "{name} refused the request{code}: {detail}": "{name}이(가) 요청을 거부했습니다{code}: {detail}",
    "{name} failed{code}: {detail}; try again later": "{name} 실패{code}: {detail}. 나중에 다시 시도하세요",
    " — the reply was cut off; the partial text is kept": " — 답변이 잘렸습니다. 받은 부분은 남겨 둡니다",
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
    "Per month at {n}/day": "하루 {n}건일 때 월 비용", "TTFT p95": "TTFT p95",
    "Latency p95": "지연 p95", "Mean score": "평균 점수", "Acceptable rate": "합격 비율",
    "Consistency across repeats": "반복 간 일관성", "{c} score": "{c} 점수", "Monthly at {n}/day": "하루 {n}건일 때 월 비용",
    "P(A faster, latency p95)": "P(A가 더 빠름, 지연 p95)", "P(A cheaper)": "P(A가 더 저렴)",
    "P(A better rated)": "P(A가 더 높게 평가됨)", "Repeats to separate": "구분에 필요한 반복",
    "Calls": "호출", "Input tokens": "입력 토큰", "Output tokens (low – high)": "출력 토큰 (낮음 – 높음)",
    "Cost (low – high)": "비용 (낮음 – 높음)", "Answering time": "답변 시간", "From past answers": "과거 답변 수",
    "Pick a run to decide on.": "결정할 실행을 고르세요.", "Pick a run.": "실행을 고르세요.",
    # the Runs tab's estimate and progress
    "**Estimate before any call** · {line}": "**호출 전 예상** · {line}",
    "{calls} calls · {cost}{bound} · {time} at concurrency {concurrency}":
        "호출 {calls}회 · {cost}{bound} · 동시 실행 {concurrency}에서 {time}",
    "cost unknown: {models} unpriced": "비용 알 수 없음: {models} 가격 없음",
    "unknown (no past answers)": "알 수 없음 (과거 답변 없음)",
    ("Low: nothing can cost less (each answer as short as the model's shortest in this log, none with no past "
     "answers); expected: the model's mean answer length in this log; high: every answer running to max tokens."):
        ("낮음: 이보다 적게 들 수는 없음 (각 답변이 이 로그에서 그 모델의 가장 짧은 답변만큼, 과거 답변이 없으면 0), "
         "예상: 이 로그에서 그 모델의 평균 답변 길이, 높음: 모든 답변이 최대 토큰까지 가는 경우."),
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
    "{name}: {why}, so it cannot be checked against {limit}": "{name}: {why}, 그래서 {limit} 기준을 확인할 수 없음",
    "no ratings": "평가 없음", "no answers": "답변 없음",
    "{name} {figure} is over {limit} by {by}": "{name} {figure}: {limit}보다 {by} 높음",
    "{name} {figure} is under {limit} by {by}": "{name} {figure}: {limit}보다 {by} 낮음",
    "No answers yet: nothing to decide.": "아직 답변이 없어 결정할 것이 없습니다.",
    "No candidate meets every constraint; the closest is {label}, which misses {n}: {miss}.":
        "모든 제약을 충족하는 후보가 없습니다. 가장 가까운 후보는 {label}이며 {n}개를 놓칩니다: {miss}.",
    "{name}: meets all constraints": "{name}: 모든 제약 충족", "costs about the same as {other}": "{other}와 비용이 비슷함",
    ", which misses {miss}": " (그 후보는 {miss} 충족 못 함)",
    "quality not compared (no ratings yet)": "품질은 비교하지 않음 (아직 평가 없음)",
    "; ": "; ", "{model} (variant {variant})": "{model} (변형 {variant})",
    "Scores are people's ratings.": "점수는 사람의 평가입니다.",
    "Scores are the judge model's ratings (no person has rated this run yet).":
        "점수는 심판 모델의 평가입니다 (아직 사람이 평가하지 않음).",
    "No ratings yet: scores, the acceptable rate and quality constraints wait for them.":
        "아직 평가가 없습니다: 점수, 합격 비율, 품질 제약은 평가가 있어야 합니다.",
    # the decision's verdicts, checks and sentences
    "yes": "예",
    "only {n} answers: no interval": "답변 {n}개뿐: 구간 없음",
    "at least {low}; too few answers for an upper bound": "최소 {low}; 상한을 정하기엔 답변이 너무 적음",
    " (default)": " (기본값)", "meets": "충족", "misses": "미달", "uncertain": "불확실",
    "{name} {figure} meets {limit}": "{name} {figure}: {limit} 기준 충족",
    "{name} {figure} is uncertain against {limit}": "{name} {figure}: {limit} 기준 충족 여부 불확실",
    "meets every constraint": "모든 제약 충족", "misses: no successful answer": "미달: 성공한 답변 없음",
    "misses: {names}": "미달: {names}", "uncertain: {names}": "불확실: {names}",
    "{n} cheaper candidates do not meet every constraint": "더 저렴한 후보 {n}개는 모든 제약을 충족하지 못함",
    "{n} of {m} other candidates cannot be told apart from it on quality":
        "다른 후보 {m}개 중 {n}개는 품질에서 이 후보와 구별되지 않음",
    "No candidate is shown to meet every constraint; the most likely is {label}, uncertain on {n}: {what}; {settle}.":
        "모든 제약을 충족한다고 확인된 후보가 없습니다. 가장 유력한 후보는 {label}이며 {n}개가 불확실합니다: {what}; {settle}.",
    "No candidate meets every constraint: none gave a successful answer.":
        "모든 제약을 충족하는 후보가 없습니다: 성공한 답변을 낸 후보가 없습니다.",
    "more answers would settle it (a p95 has an upper bound from 20 answers): more repeats, or more questions":
        "답변이 더 있으면 판단할 수 있습니다 (p95는 답변 20개부터 상한이 있음): 반복을 늘리거나 질문을 늘리세요",
    "a price or ratings would settle it": "가격이나 평가가 있으면 판단할 수 있습니다",
    "more repeats, or more questions, would settle it": "반복이나 질문을 늘리면 판단할 수 있습니다",
    "{other} is unpriced": "{other}는 가격 정보 없음",
    "{pct} cheaper{interval} than {other}": "{other}보다 {pct}{interval} 저렴",
    "{pct} dearer{interval} than {other}": "{other}보다 {pct}{interval} 비쌈",
    "{other} gave no successful answer": "{other}는 성공한 답변이 없음",
    "it fails {rate} of attempts, above the {limit} bound": "시도의 {rate}가 실패하며 기준 {limit}보다 높음",
    "it is the only candidate": "유일한 후보임",
    ", which is uncertain: {what}": " (그 후보는 불확실: {what})",
    "{other} has no rated answer to compare quality with": "{other}는 품질을 비교할 평가된 답변이 없음",
    "too few ratings to compare quality with {other} (at least 5 rated answers each)":
        "{other}와 품질을 비교하기엔 평가가 너무 적음 (각각 평가된 답변 5개 이상 필요)",
    "quality better than {other} at 95%": "95% 수준에서 {other}보다 품질이 더 좋음",
    "quality worse than {other} at 95%": "95% 수준에서 {other}보다 품질이 더 나쁨",
    "quality indistinguishable from {other} at 95%": "95% 수준에서 {other}와 품질 차이 없음",
    "Candidate": "후보", "Verdict": "판정", "cost per 1,000 questions": "질문 1,000개당 비용",
    "add questions: with {k} questions no number of repeats separates {margin} points":
        "질문을 늘리세요: 질문 {k}개로는 반복을 아무리 늘려도 {margin}점 차이를 구별할 수 없음",
    "Checked for {label}: a check is met only when the whole 95% interval is on the right side of the limit, missed "
    "when the whole interval is on the wrong side, and uncertain otherwise.":
        "{label} 기준 확인: 95% 구간 전체가 기준의 올바른 쪽에 있을 때만 충족, 전체가 반대쪽이면 미달, 그 밖에는 불확실입니다.",
    ("Intervals are 95%, with the question as the unit: a t interval over question means, Wilson's at the effective "
     "number of answers for rates, order statistics for percentiles; a figure from fewer than 5 answers shows no "
     "interval."):
        ("구간은 95%이며 질문이 단위입니다: 평균은 질문별 평균의 t 구간, 비율은 유효 답변 수에서의 Wilson 구간, "
         "백분위는 순서 통계량. 답변이 5개 미만인 수치에는 구간이 없습니다."),
    "Every candidate against every constraint": "후보별 제약 조건 판정", "Every figure, with its interval": "모든 수치와 구간",
    ("Paired by question: the chance A's figure is the better one, and the repeats per question that would tell a "
     "difference of the margin apart 80% of the time."):
        "질문별로 짝지은 비교: A의 수치가 더 나을 확률, 그리고 기준 차이를 80% 확률로 구별하는 데 필요한 질문당 반복 수.",
    "{n} calls ({ok} answered, {failed} failed) · {models} · {repeats} repeats each · run {run} · costs from pricing.yaml":
        "호출 {n}건 (답변 {ok}건, 실패 {failed}건) · {models} · 각 {repeats}회 반복 · 실행 {run} · 비용은 pricing.yaml 기준",
    "Intervals are 95%, with the question as the unit. ◆ marks the cost–quality frontier":
        "구간은 95%이며 질문이 단위입니다. ◆는 비용–품질 경계",
    "Constraints, checked for {label}:": "제약 조건 ({label} 기준):",
    "To compare quality, rate at least {n} more answers of the thinner side ({a} has {na}, {b} has {nb}).":
        "품질을 비교하려면 평가가 적은 쪽의 답변을 {n}개 이상 더 평가하세요 ({a}: {na}개, {b}: {nb}개).",
    "Highest failure rate (%)": "최대 실패율 (%)", "Log out": "로그아웃", "recommended": "추천",
    "Cost against quality (colour: verdict)": "비용 대비 품질 (색: 판정)",
    "Highest cost per question (USD, or ₩ when won are shown)": "최대 질문당 비용 (USD, 원화 표시 중이면 ₩)",
    "Highest monthly cost (USD, or ₩ when won are shown)": "최대 월 비용 (USD, 원화 표시 중이면 ₩)",
    "{what} in won needs CHAT_CURRENCY=KRW and CHAT_USD_RATE; or type dollars, e.g. 0.002":
        "{what}을 원화로 입력하려면 CHAT_CURRENCY=KRW와 CHAT_USD_RATE가 필요합니다. 또는 달러로 입력하세요 (예: 0.002)",
    "none (default 5)": "없음 (기본 5)",
    "highest failure rate (%)": "최대 실패율 (%)",
    "Every candidate against every constraint (✓ meets, ✗ misses, ? uncertain)":
        "후보별 제약 조건 판정 (✓ 충족, ✗ 미달, ? 불확실)",
    "TTFT p50": "TTFT p50", "latency p50": "지연 p50", "latency p95": "지연 p95", "cost per question": "질문당 비용",
    "monthly cost": "월 비용", "failure rate": "실패율", "mean score": "평균 점수", "acceptable rate": "합격 비율",
    "consistency across repeats": "반복 간 일관성",
    "time": "시간", "model": "모델", "status": "상태", "in": "입력", "out": "출력", "cost": "비용",
    "latency": "지연", "tok/s": "초당 토큰", "user": "사용자", "prompt": "프롬프트",
}


# Gradio's own words that its Korean translation lacks (6.x): the footer's run history and a toast's "complete"
GRADIO_KO = {"common.runs": "실행 기록", "common.runs_description": "이 브라우저에 저장된 실행 보기",
             "common.back_to_app": "앱", "common.back_to_app_description": "앱으로 돌아가기",
             "common.complete": "완료"}


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
        # a value with Korean of its own (a rubric criterion's id) is shown in Korean too
        ko_values = {k: KO.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
        self.entries[key] = (text.format(**values) if values else text,
                             KO.get(text, text).format(**ko_values) if values else KO.get(text, text))
        return I18nData(key)

    def pair(self, en: str, ko: str) -> I18nData:
        """A label built from parts (a model's provider, name and price), given whole in each language."""
        key = _key(en, {"ko": ko})
        self.entries[key] = (en, ko)
        return I18nData(key)

    def i18n(self, forced: str | None = None) -> gr.I18n:
        """For launch(): each language's words; with --lang, every language shows that one."""
        en = {k: v[0] for k, v in self.entries.items()}
        ko = {**GRADIO_KO, **{k: v[1] for k, v in self.entries.items()}}
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


def words(lang: str | None):
    """`say` for one reader, in the shape the meter's words take (chat.wording.english); `.lang` names it."""
    def word(text: str, /, **values) -> str:
        return say(text, lang or "en", **values)

    word.lang = lang or "en"
    return word


def say(text: str, lang: str, /, **values) -> str:
    """A sentence a handler writes, in the reader's language."""
    return english(KO.get(text, text) if lang == "ko" else text, **values)


CATALOGUE = Catalogue()  # static page text, the same for every reader; each reader's language picks from it
t = CATALOGUE.t


def refuse(request: gr.Request | None, text: str | Worded, **values) -> gr.Error:
    """The toast for input a handler cannot take, in the reader's language: `raise refuse(request, "...")`, or
    `refuse(request, exc)` for an error that keeps its template (chat.wording.Worded)."""
    lang = language(request)
    if isinstance(text, Worded):
        return error(text.worded(words(lang)), lang)
    return error(say(text, lang, **values), lang)


def error(text: str, lang: str) -> gr.Error:
    """An error toast already worded, under a title in the reader's language (Gradio's own says "Error")."""
    return gr.Error(as_html_text(text), title=say("Error", lang))  # a toast renders HTML; its values are anyone's


def info(text: str, lang: str) -> None:
    """An information toast, its title in the reader's language too."""
    gr.Info(as_html_text(text), title=say("Info", lang))
