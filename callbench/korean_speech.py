"""Korean recognition measured (issue 14 item 3): which recognizer the Korean line uses.

    .venv/bin/python -m callbench.korean_speech [--engines vosk:ko,whisper:base] [--sample]
        [--ways plain,"place hints","road scoring"] [--wpm N] [--json] [--show]

Each utterance of data/sample_calls/korean_utterances.yaml, said by espeak-ng's Korean voice
through the simulated 8 kHz mu-law line (callbench/caller_voices.py), recognized by each
engine in each way (`WAYS`): plain, and with the city's place hints on the place answers
(for Whisper the Gwangju road names as previous text, for Vosk a run-time grammar of them;
the other answers get no hints, as on a call), and for Whisper "road scoring": the place
hints and then the city's names scored against the audio (voice/road_scoring.py).
Per engine and way: the character error rate (jiwer, spaces and punctuation dropped,
digits read the Sino-Korean way on both sides, so "123" and "백이십삼" are the same
answer), recognition time p50/p95, and on the address utterances the street (and the
house number) right after the Gwangju geocoder, and on the landmark ones the landmark
right.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import jiwer
import yaml

from callbench.caller_voices import synthesize_caller
from callbench.latency import percentile
from callbench.machine import describe, machine
from dispatch.contract import PlaceMatch
from dispatch.places.geocoder import Geocoder
from dispatch.places.importer import PlaceSource, read_city
from voice.codec import resample, ulaw_decode
from voice.expectations import place_hints
from voice.stages import PHONE_RATE, PIPELINE_RATE, RecognitionHints, Transcriber

ROOT = Path(__file__).resolve().parent.parent
UTTERANCES = ROOT / "data" / "sample_calls" / "korean_utterances.yaml"
PLACES = ROOT / "data" / "places"
VOICE = "espeak:ko"
ENGINES = ("vosk:ko", "whisper:base")
WAYS = ("plain", "place hints", "road scoring")
HINTED = frozenset({"place hints", "road scoring"})  # the ways a place answer gets hints
PLACE_KINDS = frozenset({"address", "landmark"})  # answers to "where is it?"


@dataclass(frozen=True)
class Utterance:
    say: str
    kind: str
    street: str | None = None
    number: str | None = None
    place: str | None = None
    sample: bool = False

    @property
    def place_answer(self) -> bool:
        """Said when the bot asked where: the utterances a call's place hints are for."""
        return self.kind in PLACE_KINDS


@dataclass(frozen=True)
class Heard:
    utterance: Utterance
    text: str
    seconds: float
    place: str | None  # the geocoder's best label
    street: str | None
    number: str | None


@dataclass(frozen=True)
class Figures:
    engine: str
    way: str
    utterances: int
    cer: float
    p50_ms: float | None
    p95_ms: float | None
    addresses: int
    street_right: int
    number_right: int
    landmarks: int
    landmark_right: int

    def row(self) -> str:
        return (
            f"| {self.engine} | {self.way} | {self.utterances} | {self.cer:.1%} | "
            f"{self.p50_ms:.0f} / {self.p95_ms:.0f} | "
            f"{self.street_right}/{self.addresses} | {self.number_right}/{self.addresses} | "
            f"{self.landmark_right}/{self.landmarks} |"
        )


HEADER = (
    "| engine | way | utterances | CER | time p50 / p95 ms | street right | "
    "street + number right | landmark right |\n|---|---|---|---|---|---|---|---|"
)


def load_utterances(path: Path = UTTERANCES, *, sample: bool = False) -> list[Utterance]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = [Utterance(**{k: v for k, v in item.items()}) for item in data["utterances"]]
    return [u for u in found if u.sample] if sample else found


def caller_audio(text: str, *, voice: str = VOICE, words_per_minute: int | None = None) -> bytes:
    """16 kHz PCM of `text` said over the 8 kHz mu-law line, as the pipeline hears it."""
    ulaw = synthesize_caller(
        text, voice=voice, words_per_minute=words_per_minute, silence_after_ms=200
    )
    return resample(ulaw_decode(ulaw), PHONE_RATE, PIPELINE_RATE)


# --- the character error rate ------------------------------------------------------------

_DIGITS = "영일이삼사오육칠팔구"
_GROUPS = ((10**8, "억"), (10**4, "만"))


def _below_10000(n: int) -> str:
    out = ""
    for value, unit in ((1000, "천"), (100, "백"), (10, "십")):
        d, n = divmod(n, value)
        if d:
            out += ("" if d == 1 else _DIGITS[d]) + unit
    return out + (_DIGITS[n] if n else "")


def sino_korean(n: int) -> str:
    """123 -> "백이십삼", 3456 -> "삼천사백오십육", 0 -> "영": how espeak-ng reads digits."""
    if n == 0:
        return "영"
    out = ""
    for value, unit in _GROUPS:
        d, n = divmod(n, value)
        if d:
            out += ("" if d == 1 and unit == "만" else _below_10000(d)) + unit
    return out + _below_10000(n)


def _read_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    if "-" in run or run.startswith("0"):  # a phone number: read digit by digit, 0 as 공
        return "".join("공" if d == "0" else _DIGITS[int(d)] for d in run if d.isdigit())
    return sino_korean(int(run.replace(",", "")))


def normalise(text: str) -> str:
    """For the character error rate: digits as said, no spaces or punctuation."""
    text = re.sub(r"\d[\d,]*(?:-\d+)*", _read_digits, text)
    return re.sub(r"[\W_]+", "", text)


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    pairs = [(normalise(r), normalise(h)) for r, h in zip(references, hypotheses, strict=True)]
    kept = [(r, h) for r, h in pairs if r]
    return float(jiwer.cer([r for r, _ in kept], [h for _, h in kept]))


# --- the city ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def gwangju() -> Geocoder:
    """The Korean demo city's geocoder, as `dutyline places import` builds it."""
    source = PlaceSource(
        "Gwangju",
        (PLACES / "gwangju-ko.osm", PLACES / "gwangju-ko-addresses.csv.gz"),
        PLACES / "aliases.yaml",
    )
    city, _ = read_city(source)
    return Geocoder(city)


def korean_place_hints() -> RecognitionHints:
    """What a Korean call's place answer gets (voice/expectations.py on Gwangju's names)."""
    return place_hints(gwangju())


# --- running -------------------------------------------------------------------------------


def hear(
    transcriber: Transcriber,
    utterances: Sequence[Utterance],
    audio: Callable[[Utterance], bytes],
    hints: RecognitionHints | None,
    *,
    every_place: bool = False,
) -> list[Heard]:
    """Each utterance recognized once; the place hints only on the place answers (with
    `every_place`, also on the openings that name a place, as if asked where first)."""
    geocoder = gwangju()
    heard = []
    for utterance in utterances:
        hinted = utterance.place_answer or (every_place and bool(utterance.street))
        transcript = transcriber.transcribe(audio(utterance), hints if hinted else None)
        match: PlaceMatch = geocoder.locate(transcript.text)
        best = match.best
        heard.append(
            Heard(
                utterance,
                transcript.text,
                transcript.seconds,
                best.label if best else None,
                best.street if best else None,
                best.number if best else None,
            )
        )
    return heard


def figures(engine: str, way: str, heard: Sequence[Heard]) -> Figures:
    addresses = [h for h in heard if h.utterance.street]
    landmarks = [h for h in heard if h.utterance.place]
    times = [h.seconds * 1000 for h in heard]
    return Figures(
        engine=engine,
        way=way,
        utterances=len(heard),
        cer=round(cer([h.utterance.say for h in heard], [h.text for h in heard]), 3),
        p50_ms=percentile(times, 50),
        p95_ms=percentile(times, 95),
        addresses=len(addresses),
        street_right=sum(h.street == h.utterance.street for h in addresses),
        number_right=sum(
            h.street == h.utterance.street and h.number == h.utterance.number for h in addresses
        ),
        landmarks=len(landmarks),
        landmark_right=sum(h.place == h.utterance.place for h in landmarks),
    )


def load_transcriber(spec: str, models_dir: Path, *, way: str) -> Transcriber:
    """The engine as voice/speech.py loads it for the "ko" locale."""
    from voice.vosk_transcriber import VoskTranscriber
    from voice.whisper_transcriber import WhisperTranscriber

    engine, _, name = spec.partition(":")
    if engine == "vosk":
        return VoskTranscriber(models_dir / "vosk" / name, place_grammar=way == "place hints")
    return WhisperTranscriber(
        models_dir / "whisper" / name,
        language="ko",
        window_seconds=10,
        rescore_places=way == "road scoring",
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--sample", action="store_true", help="only the suite's sample")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma-separated, of " + str(WAYS))
    parser.add_argument(
        "--every-place", action="store_true", help="hints on the openings with a road too"
    )
    parser.add_argument("--wpm", type=int, default=None, help="espeak-ng words per minute")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--show", action="store_true", help="print every transcript")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if "vosk" in args.engines:
        import vosk

        vosk.SetLogLevel(-2)  # its grammar warns of each word its vocabulary lacks
    utterances = load_utterances(sample=args.sample)
    audio = {u.say: caller_audio(u.say, words_per_minute=args.wpm) for u in utterances}
    hints = korean_place_hints()
    results: list[Figures] = []
    for spec in args.engines.split(","):
        for way in args.ways.split(","):
            if way == "road scoring" and not spec.startswith("whisper"):
                continue  # Whisper's alone: it scores names against its encoder output
            transcriber = load_transcriber(spec, args.models, way=way)
            transcriber.transcribe(audio[utterances[0].say])  # warm up
            way_hints = hints if way in HINTED else None
            heard = hear(
                transcriber,
                utterances,
                lambda u: audio[u.say],
                way_hints,
                every_place=args.every_place,
            )
            results.append(figures(spec, way, heard))
            if args.show:
                for h in heard:
                    print(f"{spec:12} {way:11} {h.utterance.say} -> {h.text} [{h.place}]")
    if args.json:
        print(json.dumps([asdict(f) for f in results], ensure_ascii=False, indent=1))
        return
    print(describe(machine()))
    print(f"voice {VOICE}, {args.wpm or 'default'} wpm, {len(utterances)} utterances")
    print(HEADER)
    for result in results:
        print(result.row())


if __name__ == "__main__":
    main()
