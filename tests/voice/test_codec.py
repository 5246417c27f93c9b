"""mu-law and resampling: known values, round trips, streaming equals one-shot."""

from __future__ import annotations

import numpy as np
import pytest

from voice.codec import Resampler, resample, ulaw_decode, ulaw_encode


def pcm(samples: np.ndarray) -> bytes:
    return np.asarray(samples).astype("<i2").tobytes()


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float64)


def tone(frequency: float, rate: int, seconds: float = 1.0, amplitude: float = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return pcm(amplitude * np.sin(2 * np.pi * frequency * t))


def test_ulaw_known_values() -> None:
    decoded = samples(ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00, 0xFE, 0x7E, 0xEF])))
    # G.711 (bits inverted): 0xFF/0x7F are +-0, 0x80/0x00 the extremes, 0xFE the
    # first step (8), 0xEF the start of segment 1 (132).
    assert decoded.tolist() == [0, 0, 32124, -32124, 8, -8, 132]
    encoded = ulaw_encode(pcm([0, 32767, -32768, 8, -8, 132, 3]))
    assert encoded == bytes([0xFF, 0x80, 0x00, 0xFE, 0x7E, 0xEF, 0xFF])


def test_ulaw_round_trip_every_code() -> None:
    codes = bytes(range(256))
    once = ulaw_decode(codes)
    assert ulaw_decode(ulaw_encode(once)) == once
    # every code but negative zero (0x7F, which decodes to 0 = 0xFF) survives both ways
    assert ulaw_encode(once) == bytes(c if c != 0x7F else 0xFF for c in codes)


def test_ulaw_error_is_small_relative_to_the_signal() -> None:
    signal = samples(tone(440, 8000, amplitude=10000))
    back = samples(ulaw_decode(ulaw_encode(pcm(signal))))
    snr = 10 * np.log10(np.mean(signal**2) / np.mean((signal - back) ** 2))
    assert snr > 30  # G.711 gives ~38 dB on a loud tone


def test_ulaw_rejects_odd_length() -> None:
    with pytest.raises(ValueError):
        ulaw_encode(b"\x00\x01\x02")


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000)])
def test_resample_keeps_a_tone(src: int, dst: int) -> None:
    out = samples(resample(tone(1000, src), src, dst))
    assert len(out) == dst
    expected = 8000 * np.sin(2 * np.pi * 1000 * np.arange(dst) / dst)
    middle = slice(100, -100)
    error = out[middle] - expected[middle]
    assert 10 * np.log10(np.mean(expected[middle] ** 2) / np.mean(error**2)) > 50


def test_resample_down_removes_what_the_phone_cannot_carry() -> None:
    # A 6 kHz tone cannot exist at 8 kHz: it must be filtered, not folded to 2 kHz.
    out = samples(resample(tone(6000, 22050), 22050, 8000))
    assert np.sqrt(np.mean(out[100:-100] ** 2)) < 10


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (22050, 8000)])
def test_streaming_in_20ms_chunks_equals_one_shot(src: int, dst: int) -> None:
    audio = pcm(np.random.default_rng(3).normal(0, 4000, src))
    resampler = Resampler(src, dst)
    step = src // 50 * 2
    streamed = b"".join(resampler.process(audio[i : i + step]) for i in range(0, len(audio), step))
    streamed += resampler.flush()
    assert streamed == resample(audio, src, dst)


def test_lengths_for_odd_rates() -> None:
    # 441 samples at 22.05 kHz are exactly 160 at 8 kHz; a chunk that is not rounds up.
    assert len(resample(bytes(441 * 2), 22050, 8000)) == 160 * 2
    assert len(resample(bytes(1000 * 2), 22050, 8000)) == 363 * 2
    assert resample(b"\x01\x00", 16000, 16000) == b"\x01\x00"


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (8000, 24000)])
@pytest.mark.parametrize("chunk", [1, 37, 160, 333])
def test_upsampling_in_any_chunk_size_equals_one_shot(src: int, dst: int, chunk: int) -> None:
    # The integer-upsampling path starts each chunk mid-phase when a chunk held back a sample.
    audio = pcm(np.random.default_rng(chunk).normal(0, 9000, src // 4).clip(-32768, 32767))
    resampler = Resampler(src, dst)
    streamed = b"".join(
        resampler.process(audio[i : i + 2 * chunk]) for i in range(0, len(audio), 2 * chunk)
    )
    assert streamed + resampler.flush() == resample(audio, src, dst)


def test_upsampling_is_the_windowed_sinc_filter() -> None:
    # Each 16 kHz sample is the filter bank's phase applied to the 8 kHz samples around it.
    audio = np.random.default_rng(5).normal(0, 3000, 400)
    out = samples(resample(pcm(audio), 8000, 16000))
    resampler = Resampler(8000, 16000)
    half, k = resampler._half, resampler._k
    for n in (0, 1, 101, 400, 777):
        base, phase = divmod(n, 2)
        x = np.array([audio[base - j] if 0 <= base - j < 400 else 0.0 for j in k])
        expected = float(np.dot(resampler._bank[phase].astype(np.float64), x.astype("<i2")))
        assert abs(out[n] - np.clip(round(expected), -32768, 32767)) <= 1, (n, half)
