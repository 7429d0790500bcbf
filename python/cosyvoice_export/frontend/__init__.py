"""Non-neural CosyVoice3 frontend of the reference pipeline.

audio      load_audio, load_wav, load_prompt_wavs, check_tokenizer_duration, AudioError
features   kaldi_fbank, whisper_log_mel, matcha_mel, slaney_mel_filters
tokenizer  Qwen2Tokenizer, CosyVoice3Tokenizer (Qwen2 byte-level BPE + CosyVoice3 added tokens)
text       text_normalize, split_paragraph, spell_out_number, number_to_words

Heavy dependencies (torch, torchaudio, soundfile) are imported inside the functions that need them.
"""
from .audio import AudioError, check_tokenizer_duration, load_audio, load_prompt_wavs, load_wav
from .features import kaldi_fbank, matcha_mel, slaney_mel_filters, whisper_log_mel
from .text import number_to_words, spell_out_number, split_paragraph, text_normalize
from .tokenizer import CosyVoice3Tokenizer, Qwen2Tokenizer

__all__ = [
    "AudioError", "check_tokenizer_duration", "load_audio", "load_prompt_wavs", "load_wav",
    "kaldi_fbank", "matcha_mel", "slaney_mel_filters", "whisper_log_mel",
    "number_to_words", "spell_out_number", "split_paragraph", "text_normalize",
    "CosyVoice3Tokenizer", "Qwen2Tokenizer",
]
