#!/usr/bin/env node
// Expected tokenizer outputs, produced by Hugging Face tokenizers itself (its official Node binding,
// third_party/node/tokenizers, fetched by `make deps`). Used by tests/golden/test_tokenizer_golden.cc.
//
// usage: node hf_tokenize.js CORPUS.json TOKENIZER.json OUT.json
//   env COSYVOICE_HF_TOKENIZERS: the binding's folder (default: third_party/node/tokenizers)
//   CORPUS.json: {"texts": [str], "decode": [[id]], "probes": [str]}  (tests/tools/make_tokenizer_corpus.py)
//   OUT.json:    {"vocab_size", "cases": [{"ids", "decoded", "prefix_decoded", "skip_special_decoded"}],
//                 "decode": [str], "token_to_id": [id or -1]}
// Encoding is without special-token post-processing (add_special_tokens=false); decoding keeps
// special tokens except in skip_special_decoded. prefix_decoded decodes the first half of the ids,
// which usually cuts a character's bytes.
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) {
  console.error('hf_tokenize.js: ' + msg);
  process.exit(1);
}

async function main() {
  const [corpusPath, tokenizerPath, outPath] = process.argv.slice(2);
  if (!outPath) die('usage: node hf_tokenize.js CORPUS.json TOKENIZER.json OUT.json');
  const binding =
    process.env.COSYVOICE_HF_TOKENIZERS || path.join(__dirname, '..', '..', 'third_party', 'node', 'tokenizers');
  let Tokenizer;
  try {
    ({ Tokenizer } = require(binding));
  } catch (e) {
    die(`cannot load Hugging Face tokenizers from ${binding} (run \`make deps\`): ${e.message}`);
  }
  for (const p of [corpusPath, tokenizerPath]) if (!fs.existsSync(p)) die(`${p}: not found`);
  const corpus = JSON.parse(fs.readFileSync(corpusPath, 'utf8'));
  const tok = Tokenizer.fromFile(tokenizerPath);

  const cases = [];
  for (const text of corpus.texts) {
    const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
    cases.push({
      ids,
      decoded: await tok.decode(ids, false),
      prefix_decoded: await tok.decode(ids.slice(0, Math.floor(ids.length / 2)), false),
      skip_special_decoded: await tok.decode(ids, true),
    });
  }
  const decode = [];
  for (const ids of corpus.decode || []) decode.push(await tok.decode(ids, false));
  const tokenToId = (corpus.probes || []).map((p) => {
    const id = tok.tokenToId(p);
    return id === undefined || id === null ? -1 : id;
  });
  const out = { tokenizer: tokenizerPath, vocab_size: tok.getVocabSize(true), cases, decode, token_to_id: tokenToId };
  fs.writeFileSync(outPath, JSON.stringify(out));
  console.log(`hf_tokenize.js: ${cases.length} texts, ${decode.length} id lists -> ${outPath}`);
}

main().catch((e) => die(e.stack || String(e)));
