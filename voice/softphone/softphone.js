// dutyline softphone: the browser plays Twilio's part of a Media Stream.
// Microphone -> 8 kHz mu-law 20 ms frames -> WebSocket; bot audio is played back,
// marks are echoed once played, and `clear` drops what is queued (barge-in).
"use strict";

const RATE = 8000;
const FRAME = 160; // 20 ms at 8 kHz

// --- G.711 mu-law ---------------------------------------------------------
function ulawEncode(sample) {
  const BIAS = 0x84, CLIP = 32635;
  let sign = 0;
  if (sample < 0) { sign = 0x80; sample = -sample; }
  if (sample > CLIP) sample = CLIP;
  sample += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (sample & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (sample >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function ulawDecode(byte) {
  byte = ~byte & 0xff;
  const sign = byte & 0x80, exponent = (byte >> 4) & 0x07, mantissa = byte & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

// Captures microphone blocks in the audio thread and hands them to the page.
const CAPTURE_WORKLET = `
class Capture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("capture", Capture);
`;

class Softphone {
  constructor(ui) {
    this.ui = ui;
    this.ws = null;
    this.context = null;
    this.stream = null;
    this.outgoing = [];
    this.resampleCarry = 0;
    this.sources = [];
    this.playHead = 0;
    this.marks = [];
    this.sequence = 0;
    this.callSid = null;
    this.streamSid = "MZsoft" + Math.random().toString(16).slice(2, 14);
    this.token = null;
    this.shownTurns = 0;
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.sequence += 1;
    message.sequenceNumber = String(this.sequence);
    message.streamSid = this.streamSid;
    this.ws.send(JSON.stringify(message));
  }

  async start() {
    this.ui.status("Asking for the microphone...");
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
    });
    this.context = new AudioContext();
    const workletUrl = URL.createObjectURL(new Blob([CAPTURE_WORKLET], { type: "text/javascript" }));
    await this.context.audioWorklet.addModule(workletUrl);
    const source = this.context.createMediaStreamSource(this.stream);
    const capture = new AudioWorkletNode(this.context, "capture");
    capture.port.onmessage = (event) => this.captured(event.data);
    source.connect(capture);

    const issued = await (await fetch("/softphone/calls", { method: "POST" })).json();
    this.callSid = issued.call_sid;
    this.token = issued.token;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}${issued.stream_path}?token=${encodeURIComponent(issued.token)}`;
    this.ws = new WebSocket(url);
    this.ws.onopen = () => this.opened();
    this.ws.onmessage = (event) => this.received(JSON.parse(event.data));
    this.ws.onclose = () => this.ended("The line closed the call.");
    this.ui.status("Calling...");
  }

  opened() {
    this.send({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.send({
      event: "start",
      start: {
        accountSid: "ACsoftphone",
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ["inbound"],
        customParameters: { caller: "", called: "softphone", locale: "en" },
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: RATE, channels: 1 },
      },
    });
    this.ui.status("Connected: speak after the greeting.");
    this.timer = setInterval(() => this.tick(), 20);
    this.poller = setInterval(() => this.showTranscript(), 1000);
  }

  // Downsample to 8 kHz (averaging each output sample's span: a crude low-pass) and mu-law it.
  captured(block) {
    const ratio = this.context.sampleRate / RATE;
    let position = this.resampleCarry;
    while (position + ratio <= block.length) {
      let sum = 0, count = 0;
      for (let i = Math.floor(position); i < Math.floor(position + ratio); i++) { sum += block[i]; count++; }
      const value = Math.max(-1, Math.min(1, count ? sum / count : 0));
      this.outgoing.push(ulawEncode(Math.round(value * 32767)));
      position += ratio;
    }
    this.resampleCarry = position - block.length;
    while (this.outgoing.length >= FRAME) {
      const frame = Uint8Array.from(this.outgoing.splice(0, FRAME));
      this.send({ event: "media", media: { track: "inbound", payload: toBase64(frame) } });
    }
  }

  received(message) {
    if (message.event === "media") {
      this.play(fromBase64(message.media.payload));
    } else if (message.event === "mark") {
      this.marks.push({ name: message.mark.name, at: Math.max(this.playHead, this.context.currentTime) });
    } else if (message.event === "clear") {
      for (const source of this.sources) source.stop();
      this.sources = [];
      this.playHead = this.context.currentTime;
      for (const mark of this.marks) this.send({ event: "mark", mark: { name: mark.name } });
      this.marks = [];
    }
  }

  play(ulaw) {
    const buffer = this.context.createBuffer(1, ulaw.length, RATE);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < ulaw.length; i++) samples[i] = ulawDecode(ulaw[i]) / 32768;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const at = Math.max(this.playHead, this.context.currentTime + 0.05);
    source.start(at);
    this.playHead = at + buffer.duration;
    this.sources.push(source);
    source.onended = () => { this.sources = this.sources.filter((s) => s !== source); };
  }

  tick() {
    const now = this.context.currentTime;
    while (this.marks.length && this.marks[0].at <= now) {
      this.send({ event: "mark", mark: { name: this.marks.shift().name } });
    }
  }

  press(digit) {
    this.send({ event: "dtmf", dtmf: { track: "inbound_track", digit } });
  }

  async showTranscript() {
    if (!this.callSid) return;
    const response = await fetch(`/softphone/calls/${this.callSid}?token=${encodeURIComponent(this.token)}`);
    if (!response.ok) return;
    const summary = await response.json();
    for (const turn of summary.turns.slice(this.shownTurns)) this.ui.turn(turn.speaker, turn.text);
    this.shownTurns = summary.turns.length;
    if (summary.ticket_number) this.ui.status(`Ticket ${summary.ticket_number}.`);
  }

  hangUp() {
    this.send({ event: "stop", stop: { accountSid: "ACsoftphone", callSid: this.callSid } });
    if (this.ws) this.ws.close();
    this.ended("You hung up.");
  }

  ended(text) {
    clearInterval(this.timer);
    setTimeout(() => { this.showTranscript(); clearInterval(this.poller); }, 1500);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.context && this.context.state !== "closed") this.context.close();
    this.ws = null;
    this.ui.status(text);
    this.ui.idle();
  }
}

function setUp() {
  const callButton = document.getElementById("call");
  const hangupButton = document.getElementById("hangup");
  const statusLine = document.getElementById("status");
  const transcript = document.getElementById("transcript");
  let phone = null;
  const ui = {
    status: (text) => { statusLine.textContent = text; },
    turn: (speaker, text) => {
      const item = document.createElement("li");
      item.className = speaker;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = speaker === "bot" ? "Bot" : "You";
      item.append(who, document.createTextNode(text));
      transcript.append(item);
    },
    idle: () => { callButton.disabled = false; hangupButton.disabled = true; },
  };
  callButton.addEventListener("click", async () => {
    callButton.disabled = true;
    hangupButton.disabled = false;
    transcript.replaceChildren();
    phone = new Softphone(ui);
    try {
      await phone.start();
    } catch (error) {
      ui.status(`Could not start the call: ${error.message}`);
      ui.idle();
    }
  });
  hangupButton.addEventListener("click", () => phone && phone.hangUp());
  for (const key of document.querySelectorAll("#keypad button")) {
    key.addEventListener("click", () => phone && phone.press(key.textContent));
  }
}

if (typeof document !== "undefined") setUp();
if (typeof module !== "undefined") module.exports = { ulawEncode, ulawDecode };
