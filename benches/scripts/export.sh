#!/usr/bin/env bash
# Export measurements with the real pipeline: OTLP/HTTP (protobuf) to rotel on loopback.
#  1. rate sweep: #[pipeline_stage] spans at RATES spans/s for SECONDS each, delivered vs lost;
#     the highest rate with 0 lost is the sustained rate (batch processor defaults unless
#     OTEL_BSP_* are set in the environment);
#  2. outage: no collector listening, 10k spans/s for OUTAGE_SECONDS (60), RSS start/end/peak;
#  3. protocols: the rate sweep at PROTOCOL_RATES for PROTOCOL_SECONDS each over http/protobuf,
#     http/json and grpc, each without and with gzip; then bytes on the wire per span: the same
#     run at 20,000 spans/s for 2 s through a counting TCP proxy (python3, between the exporter
#     and rotel) that counts what the exporter sent (HTTP/1.1 or HTTP/2 framing, headers and
#     bodies, not TCP/IP headers), divided by the spans delivered.
# PARTS chooses which (default "sweep outage protocols"). Prints one line per run; asserts
# nothing. Needs python3 (rotel comes from PyPI, as in scripts/install-collector.sh).
# Protocols part only: PROTOCOLS (default "http/protobuf http/json grpc") and COMPRESSIONS
# (default "none gzip") choose the rows; GRPC_RECEIVER=sink sends gRPC to benches/otlp-grpc-sink
# (a discarding tonic receiver; SINK_NODELAY=0 leaves Nagle on there, as rotel does) instead of
# rotel. EXPORT_BENCH=PATH runs that prebuilt export bench executable instead of this
# checkout's (to compare two builds in one time window).
#
#   benches/scripts/export.sh
#   RATES="50000 100000" SECONDS_PER_RATE=10 OUTAGE_SECONDS=60 benches/scripts/export.sh
#   PARTS=protocols benches/scripts/export.sh
#   PARTS=protocols PROTOCOLS=grpc COMPRESSIONS=none GRPC_RECEIVER=sink benches/scripts/export.sh
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
RATES="${RATES:-10000 25000 50000 100000 200000 400000}"
SECONDS_PER_RATE="${SECONDS_PER_RATE:-5}"
OUTAGE_SECONDS="${OUTAGE_SECONDS:-60}"
PARTS="${PARTS:-sweep outage protocols}"
PROTOCOL_RATES="${PROTOCOL_RATES:-100000 200000 300000}"
PROTOCOL_SECONDS="${PROTOCOL_SECONDS:-3}"
PROTOCOLS="${PROTOCOLS:-http/protobuf http/json grpc}"
COMPRESSIONS="${COMPRESSIONS:-none gzip}"
GRPC_RECEIVER="${GRPC_RECEIVER:-rotel}"
EXPORT_BENCH="${EXPORT_BENCH:-}"
part() { [[ " $PARTS " == *" $1 "* ]]; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/bench-target}"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [[ -n "$EXPORT_BENCH" ]]; then
    run() { "$EXPORT_BENCH" --bench "$@" 2>&1 | grep -E '^export:'; }
else
    cargo bench -q -p factory-observability-benches --features grpc --bench export --no-run
    run() { cargo bench -q -p factory-observability-benches --features grpc --bench export -- "$@" 2>&1 | grep -E '^export:'; }
fi

AGENT="$(scripts/install-collector.sh)"
HTTP_PORT="$(free_port)"
GRPC_PORT="$(free_port)"
"$AGENT" start --exporter blackhole \
    --otlp-http-endpoint "127.0.0.1:$HTTP_PORT" --otlp-grpc-endpoint "127.0.0.1:$GRPC_PORT" \
    >/dev/null 2>&1 &
ROTEL_PID=$!
SINK_PID=""
trap 'kill "$ROTEL_PID" $SINK_PID 2>/dev/null || true' EXIT
case "$GRPC_RECEIVER" in
    rotel) ;;
    sink)
        if part protocols; then
            # rotel's gRPC port stays bound but unused; the sink listens on a port of its own.
            cargo build -q --release -p otlp-grpc-sink
            GRPC_PORT="$(free_port)"
            "$CARGO_TARGET_DIR/release/otlp-grpc-sink" "127.0.0.1:$GRPC_PORT" >/dev/null &
            SINK_PID=$!
        fi
        ;;
    *) echo "GRPC_RECEIVER=$GRPC_RECEIVER: expected rotel or sink" >&2; exit 2 ;;
esac
for port in "$HTTP_PORT" "$GRPC_PORT"; do
    for _ in $(seq 50); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then break; fi
        sleep 0.1
    done
done

export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$HTTP_PORT"
if part sweep; then
    echo "rate sweep: rotel-agent (blackhole exporter) on 127.0.0.1:$HTTP_PORT, ${SECONDS_PER_RATE} s per rate"
    for rate in $RATES; do
        run "$rate" "$SECONDS_PER_RATE"
    done
fi

# Forwards 127.0.0.1:$1 to 127.0.0.1:$2 and writes the bytes received from clients to $3 when
# it is stopped (SIGTERM).
COUNTING_PROXY='
import asyncio, signal, sys
listen, upstream, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sent = 0
async def pipe(reader, writer, count):
    global sent
    try:
        while data := await reader.read(65536):
            if count:
                sent += len(data)
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()
async def handle(reader, writer):
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
    await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    open(out, "w").write(str(sent))
asyncio.run(main())
'
if part protocols; then
    for protocol in $PROTOCOLS; do
        RECEIVER_PORT="$HTTP_PORT"
        [[ "$protocol" == grpc ]] && RECEIVER_PORT="$GRPC_PORT"
        for compression in $COMPRESSIONS; do
            export OTEL_EXPORTER_OTLP_PROTOCOL="$protocol" OTEL_EXPORTER_OTLP_COMPRESSION="$compression"
            export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$RECEIVER_PORT"
            receiver=rotel
            [[ "$protocol" == grpc ]] && receiver="$GRPC_RECEIVER"
            echo "protocol $protocol, compression $compression, to $receiver: ${PROTOCOL_SECONDS} s per rate"
            for rate in $PROTOCOL_RATES; do
                run "$rate" "$PROTOCOL_SECONDS"
            done
            PROXY_PORT="$(free_port)"
            COUNT_FILE="$(mktemp)"
            python3 -c "$COUNTING_PROXY" "$PROXY_PORT" "$RECEIVER_PORT" "$COUNT_FILE" &
            PROXY_PID=$!
            for _ in $(seq 50); do
                if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $PROXY_PORT), 0.2)" 2>/dev/null; then break; fi
                sleep 0.1
            done
            export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$PROXY_PORT"
            line="$(run 20000 2)"
            kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
            delivered="$(sed -E 's/.*delivered ([0-9]+).*/\1/' <<<"$line")"
            bytes="$(cat "$COUNT_FILE")"; rm -f "$COUNT_FILE"
            echo "wire: $protocol $compression: $bytes bytes for $delivered spans delivered: $(python3 -c "print(round($bytes / max($delivered, 1), 1))") bytes/span"
        done
    done
    unset OTEL_EXPORTER_OTLP_PROTOCOL OTEL_EXPORTER_OTLP_COMPRESSION
    export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$HTTP_PORT"
fi

kill "$ROTEL_PID" $SINK_PID 2>/dev/null || true
wait "$ROTEL_PID" $SINK_PID 2>/dev/null || true
part outage || exit 0
echo "outage: nothing listens on 127.0.0.1:$HTTP_PORT, 10000 spans/s for ${OUTAGE_SECONDS} s"
run 10000 "$OUTAGE_SECONDS"
