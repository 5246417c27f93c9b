"""`dutyline bench accuracy`: how often dutyline gets it right.

1. Recognition: word error rate on 8 kHz mu-law caller audio in voices that are
   not the bot's (espeak-ng, flite and, when installed, festival), per Whisper
   model and encoder window: the accuracy cost of the speed tricks.
2. End of turn: how often a shorter end-of-turn silence cuts a caller who pauses
   mid-sentence (the real Silero VAD and end-of-turn detector); and the early end at the
   first pause when the recognizer's transcript is a complete answer (the configured line,
   callbench/early_end_bench.py): its cut rate on the same callers, and how often it ends
   complete answers early and the silence it saves.
3. The held-out NLU report from the running Rasa server (nlu/evaluate.py).
4. Task success: the scripted calls of data/sample_calls/calls.yaml (or another calls
   file, e.g. riverton_places.yaml) through the running app (callbench/task_success.py);
   a call succeeds when its ticket has the right kind, department and place.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from callbench.caller_voices import CallerAudioError, synthesize_caller
from callbench.latency import percentile
from callbench.machine import machine
from callbench.speech_bench import UTTERANCES, corpus_wer, word_error_rate
from dutyline.settings import Settings
from voice.codec import resample, ulaw_decode
from voice.stages import PHONE_RATE, PIPELINE_RATE

ESPEAK_FLITE_VOICES = (
    "espeak:en-us",
    "espeak:en-gb",
    "espeak:en-us+f3",
    "flite:slt",
    "flite:rms",
    "flite:awb",
)
FESTIVAL_VOICES = ("festival:cmu_us_slt_arctic_hts", "festival:kal_diphone")
# Said with a pause in the middle, as callers do when they think of the next part.
PAUSED_SENTENCES = [
    ("My address is 45 River Road,", "apartment 3."),
    ("There is a car blocking my driveway", "on 12 Oak Street."),
    ("The street light", "in front of my house is out."),
    ("A tree fell down", "and it is blocking the sidewalk."),
    ("It's a red pickup truck,", "I think a Ford."),
    ("The corner of Main Street", "and First Avenue."),
    ("No,", "it is on Elm Street."),
    ("Yes,", "there is also a pothole on Main Street."),
]
PAUSES_MS = (300, 450)
# Answers to "Is there anything else?" that close the call.
CLOSING_ANSWERS = ("No, that's all, thank you.", "No thanks.", "Nothing else.")
# The question each paused sentence answers, for the early end's completeness check: an
# address and a corner answer "where?"; the reports are openings; the pickup answers
# "what does the vehicle look like?"; the "no" corrects a read-back and the "yes" answers
# "anything else?".
PAUSED_EXPECT = (
    "place", "complaint", "complaint", "complaint", "vehicle", "place", "read_back", "more",
)  # fmt: skip


def default_voices() -> list[str]:
    voices = list(ESPEAK_FLITE_VOICES)
    if shutil.which("text2wave"):
        voices += FESTIVAL_VOICES
    return voices


def _festival(text: str, voice: str, pad: bool = True) -> bytes:
    """Festival's text2wave, squeezed through the same 8 kHz mu-law line as the others."""
    with tempfile.TemporaryDirectory(prefix="dutyline-festival-") as folder:
        text_file, wav = Path(folder) / "caller.txt", Path(folder) / "caller.wav"
        text_file.write_text(text, encoding="utf-8")
        subprocess.run(
            ["text2wave", "-eval", f"(voice_{voice})", str(text_file), "-o", str(wav)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        out = subprocess.run(
            [
                "sox",
                "-D",
                str(wav),
                "-t",
                "raw",
                "-r",
                "8000",
                "-c",
                "1",
                "-e",
                "u-law",
                "-",
                "pad",
                "0.2",
                "0.3",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return out.stdout


def caller_ulaw(text: str, voice: str, *, pad: bool = True) -> bytes:
    """A caller saying `text` over the phone line; `pad`: 200 ms silence before, 300 after."""
    engine, _, name = voice.partition(":")
    if engine == "festival":
        if not shutil.which("text2wave"):
            raise CallerAudioError("festival is not installed (apt-get install festival)")
        return _festival(text, name, pad)
    before, after = (200, 300) if pad else (0, 0)
    return synthesize_caller(text, voice=voice, silence_before_ms=before, silence_after_ms=after)


def trim(ulaw: bytes, threshold: int = 200) -> bytes:
    """The speech without the synthesizer's own leading and trailing silence."""
    loud = np.flatnonzero(np.abs(np.frombuffer(ulaw_decode(ulaw), dtype="<i2")) > threshold)
    return ulaw[loud[0] : loud[-1] + 1] if len(loud) else ulaw


def phone_pcm16k(ulaw: bytes) -> bytes:
    return resample(ulaw_decode(ulaw), PHONE_RATE, PIPELINE_RATE)


# --- 1. recognition ---------------------------------------------------------------------


def recognition(
    settings: Settings,
    *,
    models: Sequence[str],
    windows: Sequence[int],
    voices: Sequence[str],
    utterances: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    from voice.whisper_transcriber import WhisperTranscriber

    texts = UTTERANCES[:utterances]
    progress(f"recognition: {len(texts)} utterances x {len(voices)} voices")
    corpus = [
        (text, voice, phone_pcm16k(caller_ulaw(text, voice))) for voice in voices for text in texts
    ]
    configured = settings.asr_models.get("en", "")
    rows = []
    for name in models:
        transcriber = WhisperTranscriber(
            settings.models_dir / "whisper" / name, language="en", cpu_threads=os.cpu_count()
        )
        transcriber.transcribe(corpus[0][2])  # warm-up
        for window in windows:
            progress(f"  whisper {name}, {window} s window")
            transcriber.window_seconds = window
            pairs, seconds, empty = [], [], 0
            per_voice: dict[str, list[tuple[str, str]]] = {}
            for text, voice, pcm in corpus:
                result = transcriber.transcribe(pcm)
                pairs.append((text, result.text))
                per_voice.setdefault(voice, []).append((text, result.text))
                seconds.append(result.seconds * 1000)
                empty += not result.text
            rows.append(
                {
                    "model": name,
                    "window_s": window,
                    "configured": configured == f"whisper:{name}"
                    and window == settings.whisper_window_seconds,
                    "wer": round(corpus_wer(pairs), 3),
                    "wer_by_voice": {v: round(corpus_wer(p), 3) for v, p in per_voice.items()},
                    "empty": empty,
                    "p50_ms": percentile(seconds, 50),
                    "p95_ms": percentile(seconds, 95),
                    "utterances": len(pairs),
                    "worst": max(pairs, key=lambda p: word_error_rate(*p)),
                }
            )
        del transcriber
    return {
        "voices": list(voices),
        "utterances": len(corpus),
        "mean_utterance_s": round(
            statistics.mean(len(pcm) / 2 / PIPELINE_RATE for *_, pcm in corpus), 2
        ),
        "rows": rows,
    }


# --- 2. end of turn ---------------------------------------------------------------------


def end_of_turn(
    settings: Settings,
    *,
    silences_ms: Sequence[int],
    voices: Sequence[str],
    progress: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Per end-of-turn silence: how many paused sentences are cut into two turns."""
    from voice.turn import EndOfTurn, TurnEventKind
    from voice.vad import SileroVadAnalyzer, SileroVadModel

    progress(f"end of turn: {len(PAUSED_SENTENCES)} paused sentences x {len(voices)} voices")
    model = SileroVadModel(settings.models_dir / "silero_vad.onnx")
    samples = [pcm for _, _, _, pcm in paused_lines(voices)]
    frame = PIPELINE_RATE // 50 * 2  # 20 ms of 16 kHz PCM16, as the pipeline pushes it
    rows = []
    for silence in silences_ms:
        cut = 0
        for pcm in samples:
            vad = SileroVadAnalyzer(model)
            turn = EndOfTurn(end_silence_ms=silence, pause_ms=min(250, silence // 2))
            ended = 0
            for start in range(0, len(pcm), frame):
                chunk = pcm[start : start + frame]
                event = turn.push(chunk, vad.analyze(chunk))
                if event is not None and event.kind is TurnEventKind.ENDED:
                    ended += 1
            cut += ended > 1
        rows.append(
            {
                "end_silence_ms": silence,
                "configured": silence == settings.end_of_turn_silence_ms,
                "sentences": len(samples),
                "cut_in_two": cut,
                "cut_rate": round(cut / len(samples), 3),
                "pauses_ms": list(PAUSES_MS),
            }
        )
    return rows


def paused_lines(
    voices: Sequence[str], pause_ms: Sequence[int] = PAUSES_MS
) -> list[tuple[int, str, int, bytes]]:
    """(sentence index, voice, pause, 16 kHz PCM) of each paused sentence."""
    lines = []
    for voice in voices:
        for index, (first, second) in enumerate(PAUSED_SENTENCES):
            a = trim(caller_ulaw(first, voice, pad=False))
            b = trim(caller_ulaw(second, voice, pad=False))
            for pause in pause_ms:
                quiet = b"\xff" * (PHONE_RATE * pause // 1000)  # the caller's pause, exactly
                line = b"\xff" * 1600 + a + quiet + b + b"\xff" * PHONE_RATE
                lines.append((index, voice, pause, phone_pcm16k(line)))
    return lines


def early_end(
    settings: Settings,
    *,
    voices: Sequence[str],
    calls_file: Path,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """The configured line with the early end: cuts of pausing callers, complete answers
    ended early and the silence saved (callbench/early_end_bench.py)."""
    from callbench.early_end_bench import Sample, city_expectations, measure, sample_call_answers
    from nlu.contract import Expect
    from voice.speech import SpeechModels

    speech = SpeechModels(settings)
    speech.load()
    speech.expectations = city_expectations(settings)
    progress(f"early end: {settings.asr_models.get('en')}, the city's hints and names")

    def said(index: int) -> str:
        return " ".join(PAUSED_SENTENCES[index])

    paused = [
        Sample(said(i), Expect(PAUSED_EXPECT[i]), voice, pcm)
        for i, voice, _, pcm in paused_lines(voices)
    ]
    # The same sentences said in one go (with the pause the voice makes at a comma), the
    # scripted calls' answers and the answers that close a call.
    answers = [(said(i), Expect(e)) for i, e in enumerate(PAUSED_EXPECT)]
    answers += [(text, Expect.MORE) for text in CLOSING_ANSWERS]
    complete = []
    for text, expect in answers + sample_call_answers(calls_file):
        for voice in voices:
            ulaw = b"\xff" * 1600 + trim(caller_ulaw(text, voice, pad=False)) + b"\xff" * PHONE_RATE
            complete.append(Sample(text, expect, voice, phone_pcm16k(ulaw)))
    result = measure(speech, paused=paused, complete=complete, progress=progress)
    result["recognizer"] = settings.asr_models.get("en")
    result["pauses_ms"] = list(PAUSES_MS)
    return result


# --- 3. NLU -----------------------------------------------------------------------------


def nlu_report(rasa_url: str, locale: str) -> dict[str, Any]:
    from nlu.evaluate import evaluate

    report = evaluate(rasa_url, locale)
    return {
        "locale": report.locale,
        "model": report.model,
        "examples": report.examples,
        "intent_accuracy": round(report.intent_accuracy, 3),
        "entity_precision": round(report.entity_precision, 3),
        "entity_recall": round(report.entity_recall, 3),
        "entity_f1": round(report.entity_f1, 3),
        "meets_target": report.meets_target,
        "misses": [
            {"text": m.text, "expected": m.expected, "predicted": m.predicted}
            for m in report.misses
        ],
        "text": report.render(),
    }


def run(
    settings: Settings,
    *,
    app_url: str,
    public_url: str,
    rasa_url: str,
    token: str,
    calls_file: Path,
    models: Sequence[str] = ("tiny.en", "base"),
    windows: Sequence[int] = (30, 10, 5),
    voices: Sequence[str] | None = None,
    call_voices: Sequence[str] = ("flite:slt", "espeak:en-us"),
    utterances: int = 12,
    silences_ms: Sequence[int] = (600, 450, 300),
    parallel: int = 2,
    parts: Sequence[str] = ("wer", "turn", "nlu", "calls"),
    limit: int | None = None,
    caller: str = "scripted",
    voices_take_turns: bool = False,
    early: bool = True,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    voices = list(voices or default_voices())
    result: dict[str, Any] = {"machine": machine()}
    if "wer" in parts:
        result["recognition"] = recognition(
            settings,
            models=models,
            windows=windows,
            voices=voices,
            utterances=utterances,
            progress=progress,
        )
    if "turn" in parts:
        result["end_of_turn"] = end_of_turn(
            settings, silences_ms=silences_ms, voices=voices, progress=progress
        )
        if early:
            result["early_end"] = early_end(
                settings, voices=voices, calls_file=calls_file, progress=progress
            )
    if "nlu" in parts:
        progress("held-out NLU report")
        result["nlu"] = nlu_report(rasa_url, settings.locale)
    if "calls" in parts:
        from callbench.task_success import scripted_calls, task_success

        rows = asyncio.run(
            scripted_calls(
                settings,
                app_url=app_url,
                public_url=public_url,
                token=token,
                calls_file=calls_file,
                voices=call_voices,
                parallel=parallel,
                limit=limit,
                caller=caller,
                voices_take_turns=voices_take_turns,
                progress=progress,
            )
        )
        result["task_success"] = task_success(rows)
    return result
