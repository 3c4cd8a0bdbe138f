/**
 * Statements are written once with `?` and numbered for PostgreSQL: only real placeholders,
 * never a `?` inside a string, identifier, comment or dollar-quoted body.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { likeContains, statement } from '../../electron/core/storage/index.ts';
import { numberPlaceholders } from '../../electron/core/storage/statement.ts';

test('placeholders are numbered in order', () => {
  assert.deepEqual(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)'), {
    numbered: 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)',
    count: 3,
  });
});

test('a ? inside quotes, comments or a dollar-quoted body is left alone', () => {
  const sql = `SELECT '?', 'it''s ?', "col?" -- why?\n, ? /* and ? here */ FROM t WHERE x = $fn$ ? $fn$ AND y = ?`;
  assert.deepEqual(numberPlaceholders(sql), {
    numbered: `SELECT '?', 'it''s ?', "col?" -- why?\n, $1 /* and ? here */ FROM t WHERE x = $fn$ ? $fn$ AND y = $2`,
    count: 2,
  });
});

test('the same text gives the same statement, translated once', () => {
  const a = statement('SELECT ? AS x');
  assert.equal(statement('SELECT ? AS x'), a);
  assert.equal(a.numbered, 'SELECT $1 AS x');
  assert.equal(a.parameterCount, 1);
  assert.ok(Object.isFrozen(a));
});

test('likeContains escapes the LIKE wildcards and the escape character', () => {
  assert.equal(likeContains('web'), '%web%');
  assert.equal(likeContains('50%_off\\'), '%50\\%\\_off\\\\%');
});
