"""G.711 mu-law and sample-rate conversion for 16-bit mono PCM.

Runs on every 20 ms frame of every call, so both are table lookups / vectorised
numpy (audioop left the standard library in Python 3.13).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

_BIAS = 0x84
_CLIP = 32635


def _decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


def _encode_table() -> np.ndarray:
    # Indexed by the sample's 16 bits read as unsigned, so encoding is one lookup.
    samples = np.arange(65536, dtype=np.int32)
    samples = np.where(samples >= 32768, samples - 65536, samples)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), _CLIP) + _BIAS
    # exponent = position of the highest set bit above bit 7 (0..7)
    exponent = np.floor(np.log2(magnitude >> 7 | 1)).astype(np.int32)
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_ULAW_TO_PCM = _decode_table()
_PCM_TO_ULAW = _encode_table()


def ulaw_decode(data: bytes) -> bytes:
    """8-bit mu-law -> 16-bit signed little-endian PCM (same rate)."""
    return _ULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)].tobytes()


def ulaw_encode(pcm16: bytes) -> bytes:
    """16-bit signed little-endian PCM -> 8-bit mu-law (same rate)."""
    if len(pcm16) % 2:
        raise ValueError("PCM16 audio must have an even number of bytes")
    return _PCM_TO_ULAW[np.frombuffer(pcm16, dtype="<u2")].tobytes()


class Resampler:
    """Streaming polyphase (windowed-sinc) resampler for 16-bit mono PCM.

    Keeps the filter history between chunks, so 20 ms frames join without
    clicks. Output lags input by half the filter (about 2 ms); `flush()` emits it.
    Not thread-safe: one per stream.
    """

    def __init__(self, src_rate: int, dst_rate: int, *, zero_crossings: int = 16) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError("sample rates must be positive")
        ratio = Fraction(dst_rate, src_rate)
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._up = ratio.numerator  # L
        self._down = ratio.denominator  # M
        self._identity = self._up == self._down == 1
        # Cut below the lower of the two Nyquist rates; widen the filter when
        # downsampling so the transition band stays as narrow in output terms.
        scale = min(1.0, self._up / self._down)
        half = int(np.ceil(zero_crossings / scale))
        self._half = half
        cutoff = 0.92 * scale  # fraction of the input Nyquist rate
        # k runs from -(half-1) .. half; input index i = base - k
        self._k = np.arange(-(half - 1), half + 1, dtype=np.int64)
        phases = np.arange(self._up, dtype=np.float64)[:, None]
        t = (phases + self._k[None, :] * self._up) / self._up  # in input samples
        # Kaiser window over the filter's span of +-half input samples
        span = np.clip(1.0 - (t / (half + 1)) ** 2, 0.0, None)
        window = np.i0(8.6 * np.sqrt(span)) / np.i0(8.6)
        bank = cutoff * np.sinc(cutoff * t) * window
        self._bank = bank.astype(np.float32)  # shape (L, taps)
        # For the integer-upsampling path: taps ordered oldest input first, (taps, L).
        # float64: BLAS may sum a row differently for another number of rows, and in
        # float32 that shows as a 1-LSB difference between streamed and one-shot output.
        self._bank_up = np.ascontiguousarray(bank[:, ::-1].T)
        self.reset()

    def reset(self) -> None:
        # History starts with `half` zeros so output 0 is centred on input 0.
        self._buffer = np.zeros(self._half, dtype=np.float32)
        self._buffer_start = -self._half  # absolute index of _buffer[0]
        self._received = 0  # input samples received
        self._next_out = 0  # index of the next output sample

    def _available_outputs(self, received: int) -> int:
        # Output n needs input up to base(n) + half, base(n) = floor(n*M/L).
        last_needed_base = received - 1 - self._half
        if last_needed_base < 0:
            return 0
        return (last_needed_base * self._up) // self._down + 1

    def _run(self, samples: np.ndarray, received: int) -> bytes:
        self._buffer = np.concatenate([self._buffer, samples])
        end = self._available_outputs(received)
        if end <= self._next_out:
            return b""
        if self._down == 1:
            out = self._run_up(end)
        else:
            n = np.arange(self._next_out, end, dtype=np.int64)
            position = n * self._down
            base = position // self._up
            phase = position - base * self._up
            index = base[:, None] - self._k[None, :] - self._buffer_start
            out = np.einsum("ij,ij->i", self._bank[phase], self._buffer[index])
        self._next_out = end
        # Drop input no later output can reach.
        next_base = (end * self._down) // self._up
        keep_from = next_base - self._half - self._buffer_start
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:]
            self._buffer_start += keep_from
        # Ufuncs in place: np.clip's Python wrapper alone costs several us per frame.
        out = np.rint(out)
        np.minimum(out, 32767.0, out=out)
        np.maximum(out, -32768.0, out=out)
        return out.astype("<i2").tobytes()

    def _run_up(self, end: int) -> np.ndarray:
        """Integer upsampling (8 -> 16 kHz on every caller frame): each input sample gives
        L outputs, so the output block is the buffer's sliding windows times the whole bank,
        one small matrix product instead of a gathered (outputs x taps) index."""
        first_base = self._next_out // self._up
        last_base = (end - 1) // self._up
        # Output base*L + phase reads input base - half .. base + half - 1.
        lo = first_base - self._half - self._buffer_start
        span = self._buffer[lo : last_base + self._half - self._buffer_start].astype(np.float64)
        taps = len(self._k)
        rows = len(span) - taps + 1
        # A strided view (what sliding_window_view builds, without its ~10 us of checks).
        windows = np.ndarray((rows, taps), np.float64, span, 0, (8, 8))
        skip = self._next_out - first_base * self._up
        return (windows @ self._bank_up).ravel()[skip : skip + end - self._next_out]

    def process(self, pcm16: bytes) -> bytes:
        if self._identity:
            return pcm16
        samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
        self._received += len(samples)
        return self._run(samples, self._received)

    def flush(self) -> bytes:
        """Emit the samples still held back for the filter's look-ahead."""
        if self._identity:
            return b""
        total_out = (self._received * self._up + self._down - 1) // self._down
        missing = total_out - self._next_out
        if missing <= 0:
            return b""
        pad = np.zeros(self._half + 1, dtype=np.float32)
        out = self._run(pad, self._received + len(pad))
        self.reset()  # the stream is over; a new one may start
        return out[: missing * 2]


def resample(pcm16: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Resample a whole clip; the result has len * dst/src samples (rounded up)."""
    if src_rate == dst_rate:
        return pcm16
    resampler = Resampler(src_rate, dst_rate)
    return resampler.process(pcm16) + resampler.flush()
