"""Speech benchmark: recognizer latency and word error rate per encoder window,
Piper time to first audio, VAD and codec cost per 20 ms frame.

Caller audio is synthesized (espeak-ng and flite voices, none of them the bot's)
and squeezed through 8 kHz mu-law like a real phone line. Figures vary with
the machine; `run()` returns them and prints a table (`dutyline bench`).
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from callbench.caller_voices import synthesize_caller
from dutyline.settings import Settings
from voice.codec import Resampler, resample, ulaw_decode, ulaw_encode
from voice.stages import PHONE_RATE, PIPELINE_RATE

# What callers say to a city's night line.
UTTERANCES = [
    "There is a car blocking my driveway on 12 Oak Street.",
    "The street light in front of my house is out.",
    "My neighbors are playing loud music and it is after midnight.",
    "There is a big pothole on Main Street near the school.",
    "A water pipe burst and the road is flooding.",
    "The traffic signal at Elm and Fifth is not working.",
    "Someone dumped a mattress in the alley behind my building.",
    "There is a dead raccoon in the middle of the road.",
    "The garbage was not picked up this week.",
    "A tree fell down and is blocking the sidewalk.",
    "I want to report a broken fire hydrant that is leaking.",
    "There is graffiti on the wall of the library.",
    "The manhole cover on Pine Avenue is missing.",
    "A dog has been barking all night next door.",
    "There is no heat in my apartment and it is freezing.",
    "The bus shelter glass is smashed on Maple Road.",
    "Cars are parked on both sides and the ambulance cannot pass.",
    "I smell gas near the corner of Second Street.",
    "The park gate has been left open all night.",
    "A construction crew is working very loudly at two in the morning.",
    "My address is 45 River Road, apartment 3.",
    "Yes, that is correct.",
    "No, the address is 18 Cedar Lane.",
    "It started about an hour ago.",
    "My name is John Smith and my number is 555 0142.",
    "What is the status of my ticket?",
    "The sewer is backing up into the street.",
    "A stop sign was knocked over on Lake Drive.",
    "There are shopping carts abandoned in the creek.",
    "The snow has not been plowed on Hill Street.",
]
CALLER_VOICES = [
    "flite:slt",
    "espeak:en-us",
    "flite:rms",
    "espeak:en-gb",
    "flite:awb",
    "espeak:en-us+f3",
]
WINDOWS = (30, 10, 5)
PROMPTS = [
    "Thank you for calling the city's night line. What would you like to report?",
    "Where is the problem? Please tell me the street address.",
    "Your ticket number is 4 5 1 2. Goodbye.",
]

_NUMBERS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
    "twelve": "12", "eighteen": "18", "fortyfive": "45",
}  # fmt: skip


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation; spelled digits as digits."""
    text = text.lower().replace("-", " ")
    words = re.sub(r"[^\w' ]+", " ", text).split()
    return [_NUMBERS.get(word, word) for word in words]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance / reference length."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            cost = 0 if ref_word == hyp_word else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1] / max(1, len(ref))


def corpus_wer(pairs: Sequence[tuple[str, str]]) -> float:
    """Errors over all reference words (not the mean of per-utterance rates)."""
    errors = sum(word_error_rate(ref, hyp) * max(1, len(normalise(ref))) for ref, hyp in pairs)
    return errors / max(1, sum(len(normalise(ref)) for ref, _ in pairs))


def caller_corpus(count: int = len(UTTERANCES)) -> list[tuple[str, str, bytes]]:
    """(text, voice, 16 kHz PCM after an 8 kHz mu-law line) for each utterance."""
    corpus = []
    for index, text in enumerate(UTTERANCES[:count]):
        voice = CALLER_VOICES[index % len(CALLER_VOICES)]
        ulaw = synthesize_caller(text, voice=voice, silence_before_ms=200, silence_after_ms=300)
        corpus.append((text, voice, resample(ulaw_decode(ulaw), PHONE_RATE, PIPELINE_RATE)))
    return corpus


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_whisper(
    settings: Settings,
    names: Sequence[str],
    windows: Sequence[int],
    corpus: list,
    beam_size: int = 1,
) -> list[dict[str, Any]]:
    from voice.whisper_transcriber import WhisperTranscriber

    rows = []
    for name in names:
        transcriber = WhisperTranscriber(
            settings.models_dir / "whisper" / name,
            language="en",
            cpu_threads=os.cpu_count(),
            beam_size=beam_size,
        )
        transcriber.transcribe(corpus[0][2])  # warm-up
        for window in windows:
            transcriber.window_seconds = window
            latencies, pairs, empty = [], [], 0
            for text, _voice, pcm in corpus:
                result = transcriber.transcribe(pcm)
                latencies.append(result.seconds)
                pairs.append((text, result.text))
                empty += not result.text
            rows.append(
                {
                    "model": name,
                    "window_s": window,
                    "beam_size": beam_size,
                    "wer": round(corpus_wer(pairs), 3),
                    # per synthesizer family: flite is clear, espeak-ng robotic
                    **{
                        f"wer_{family}": round(
                            corpus_wer(
                                [
                                    p
                                    for p, c in zip(pairs, corpus, strict=True)
                                    if c[1].startswith(family)
                                ]
                            ),
                            3,
                        )
                        for family in ("flite", "espeak")
                    },
                    "empty": empty,
                    "mean_s": round(statistics.mean(latencies), 3),
                    "p50_s": round(_percentile(latencies, 0.5), 3),
                    "p95_s": round(_percentile(latencies, 0.95), 3),
                    "utterances": len(pairs),
                    "worst": max(pairs, key=lambda p: word_error_rate(*p)),
                }
            )
    return rows


def bench_concurrency(
    settings: Settings, name: str, window: int, corpus: list, callers: Sequence[int] = (1, 2, 4)
) -> list[dict[str, Any]]:
    """Latency per utterance (queueing included) when several calls finish a turn at once."""
    from concurrent.futures import ThreadPoolExecutor

    from voice.whisper_transcriber import WhisperTranscriber

    transcriber = WhisperTranscriber(
        settings.models_dir / "whisper" / name, window_seconds=window, cpu_threads=os.cpu_count()
    )
    transcriber.transcribe(corpus[0][2])
    rows = []
    for count in callers:
        with ThreadPoolExecutor(count) as pool:
            latencies = [
                r.seconds
                for r in pool.map(lambda c: transcriber.transcribe(c[2]), corpus[: 4 * count])
            ]
        rows.append(
            {
                "model": name,
                "window_s": window,
                "concurrent_calls": count,
                "p50_s": round(_percentile(latencies, 0.5), 3),
                "p95_s": round(_percentile(latencies, 0.95), 3),
            }
        )
    return rows


def bench_piper(settings: Settings) -> dict[str, float]:
    from voice.piper_synthesizer import PiperSynthesizer
    from voice.speech import speak

    synthesizer = PiperSynthesizer(settings.models_dir / "piper" / f"{settings.piper_voice}.onnx")
    list(speak(synthesizer, "Warming up."))
    first, totals, audio_seconds = [], [], []
    for prompt in PROMPTS:
        started = time.perf_counter()
        chunks = speak(synthesizer, prompt)
        size = len(next(chunks))
        first.append(time.perf_counter() - started)
        size += sum(len(chunk) for chunk in chunks)
        totals.append(time.perf_counter() - started)
        audio_seconds.append(size / 2 / PHONE_RATE)
    return {
        "first_audio_s": round(statistics.mean(first), 3),
        "whole_prompt_s": round(statistics.mean(totals), 3),
        "real_time_factor": round(sum(totals) / sum(audio_seconds), 3),
    }


def bench_frames(settings: Settings, frames: int = 2000) -> dict[str, float]:
    """Microseconds per 20 ms frame for the codec, resampler and VAD."""
    from voice.vad import SileroVadAnalyzer, SileroVadModel

    rng = np.random.default_rng(0)
    ulaw = ulaw_encode(rng.normal(0, 3000, PHONE_RATE // 50).astype("<i2").tobytes())
    pcm16k = rng.normal(0, 3000, PIPELINE_RATE // 50).astype("<i2").tobytes()
    resampler = Resampler(PHONE_RATE, PIPELINE_RATE)
    vad = SileroVadAnalyzer(SileroVadModel(settings.models_dir / "silero_vad.onnx"))

    def per_frame(step: Any) -> float:
        started = time.perf_counter()
        for _ in range(frames):
            step()
        return round((time.perf_counter() - started) / frames * 1e6, 1)

    return {
        "ulaw_decode_us": per_frame(lambda: ulaw_decode(ulaw)),
        "resample_8k_16k_us": per_frame(lambda: resampler.process(ulaw_decode(ulaw))),
        "vad_us": per_frame(lambda: vad.analyze(pcm16k)),
    }


def run(
    settings: Settings,
    *,
    models: Sequence[str] = ("tiny.en", "base"),
    windows: Sequence[int] = WINDOWS,
    utterances: int = len(UTTERANCES),
    beam_size: int = 1,
    show: bool = True,
) -> dict[str, Any]:
    """Measure; returns the figures (and prints a table when `show`)."""
    corpus = caller_corpus(utterances)
    result = {
        "nproc": os.cpu_count(),
        "load_average_before": round(os.getloadavg()[0], 2),
        "utterances": len(corpus),
        "caller_voices": sorted({voice for _, voice, _ in corpus}),
        "mean_utterance_s": round(
            statistics.mean(len(p) / 2 / PIPELINE_RATE for *_, p in corpus), 2
        ),
        "whisper": bench_whisper(settings, models, windows, corpus, beam_size),
        "concurrency": bench_concurrency(settings, models[0], 10, corpus),
        "piper": bench_piper(settings),
        "frames": bench_frames(settings),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    if show:
        print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    voices = ", ".join(result["caller_voices"])
    print(
        f"nproc={result['nproc']}  load average {result['load_average_before']} -> "
        f"{result['load_average_after']}  {result['utterances']} utterances "
        f"(mean {result['mean_utterance_s']} s, 8 kHz mu-law; voices {voices})"
    )
    print(
        f"{'model':<9}{'beam':>5}{'window':>7}{'WER':>7}{'flite':>7}{'espeak':>7}{'empty':>6}"
        f"{'mean s':>8}{'p50 s':>7}{'p95 s':>7}"
    )
    for row in result["whisper"]:
        print(
            f"{row['model']:<9}{row['beam_size']:>5}{row['window_s']:>6}s{row['wer']:>7.3f}{row['wer_flite']:>7.3f}"
            f"{row['wer_espeak']:>7.3f}{row['empty']:>6}"
            f"{row['mean_s']:>8.3f}{row['p50_s']:>7.3f}{row['p95_s']:>7.3f}"
        )
    for row in result["concurrency"]:
        print(
            f"{row['model']} {row['window_s']}s window, {row['concurrent_calls']} calls at once: "
            f"p50 {row['p50_s']} s, p95 {row['p95_s']} s (queueing included)"
        )
    piper = result["piper"]
    print(
        f"piper: first audio {piper['first_audio_s']} s, whole prompt {piper['whole_prompt_s']} s, "
        f"real-time factor {piper['real_time_factor']}"
    )
    frames = result["frames"]
    print(
        "per 20 ms frame: "
        + ", ".join(f"{key.removesuffix('_us')} {value} us" for key, value in frames.items())
    )


if __name__ == "__main__":
    import sys

    run(Settings(), beam_size=int(sys.argv[1]) if len(sys.argv) > 1 else 1)
