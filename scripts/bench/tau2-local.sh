#!/usr/bin/env bash
# TAU-bench with the embedded local model, end to end: serve the model on loopback, run the agent configs
# on mock and on an airline slice (tool loop and ElizaOS-style XML reasoner, same model, same user), the
# real ElizaOS TS agent alone (ts-xml) and delegating to the sidekick (ts-sidekick), then build the report.
# Every run appends to the metrics DB and is resumable (see `elizapy bench tau2 --resume`). Runs go one
# after another: measured here, three runs sharing a 9-slot server were ~5x slower per call, not faster
# (llama.cpp's CPU attention reads the KV cells of every slot in use for every token).
#
#   scripts/bench/tau2-local.sh                    # defaults below
#   AIRLINE_TASKS=0,1,2,3,4 LEGS="mock-tools" scripts/bench/tau2-local.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ELIZAPY=${ELIZAPY:-.venv/bin/elizapy}
MODEL=${MODEL:-qwen2.5-coder-1.5b}
PORT=${PORT:-8080}
SLOTS=${SLOTS:-3}
OUT=${OUT:-.bench}
AIRLINE_TASKS=${AIRLINE_TASKS:-0,1,2}
LEGS=${LEGS:-"mock-tools mock-xml airline-tools mock-ts-sidekick mock-ts-xml airline-xml"}
# tau2's orchestrator step limit (messages, tool calls included): a mock task needs well under 20 and an
# airline task 20-40; the limits only cut loops short, which score 0 either way, to bound time on 2 cores.
MOCK_MAX_STEPS=${MOCK_MAX_STEPS:-30}
AIRLINE_MAX_STEPS=${AIRLINE_MAX_STEPS:-40}
CONFIGS=src/elizapy/bench/tau2/configs
USER_MODEL="http://127.0.0.1:${PORT}/v1/${MODEL}"

if ! curl -sf "http://127.0.0.1:${PORT}/health" >/dev/null; then
  # Three slots per run, so that each kind of prompt keeps its own KV cache and only a turn's new tokens are
  # prefilled: the agent's prompt, the XML reasoner's argument extraction, the user simulator. 16k tokens per
  # slot hold the airline policy, its tools and a long conversation.
  # LOCAL_MAX_TOKENS bounds requests that name no max_tokens: an abandoned non-streaming generation runs to
  # its end inside llama.cpp, and the server's 2048-token default let those pile up behind live requests.
  OMP_WAIT_POLICY=ACTIVE LOCAL_PARALLEL=$SLOTS LOCAL_MAX_TOKENS=${MAX_TOKENS:-512} "$ELIZAPY" models serve --model "$MODEL" --port "$PORT" \
    --ctx-size $((SLOTS * 16384)) >"$OUT/serve.log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 120); do curl -sf "http://127.0.0.1:${PORT}/health" >/dev/null && break; sleep 1; done
fi

for leg in $LEGS; do
  domain=${leg%%-*}; reasoner=${leg#*-}
  tasks=(); steps=$MOCK_MAX_STEPS
  [ "$domain" = airline ] && { tasks=(--tasks "$AIRLINE_TASKS"); steps=$AIRLINE_MAX_STEPS; }
  case $reasoner in  # which go/no-go leg the run measures
    ts-xml) which="TS only" ;;
    ts-sidekick) which="TS + sidekick" ;;
    *) which="Python-first" ;;
  esac
  echo "== $domain / $reasoner"
  "$ELIZAPY" bench tau2 --domain "$domain" --agent "$CONFIGS/local-$reasoner.json" "${tasks[@]}" \
    --user-model "$USER_MODEL" --user-style anchored --max-steps "$steps" --leg "$which" \
    --results-dir "$OUT/tau2" --metrics-db "$OUT/metrics.db" --json | tee -a "$OUT/tau2-local.jsonl"
done
"$ELIZAPY" report --db "$OUT/metrics.db" --out "$OUT/report.html"
