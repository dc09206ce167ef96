/** A topic's top words with their NMF weights (row of H), highest first. */
export interface TopicWords {
  words: string[];
  weights: number[];
}

/**
 * Name NMF topics from a dictionary of name → keywords: each topic takes the name whose keywords weigh
 * most among its top words, each name used once (best pairs first); topics no name matches are called by
 * their top three words. Deterministic: ties go to the lower topic index, then dictionary order.
 */
export function nameTopics(
  topics: readonly TopicWords[],
  dictionary: Readonly<Record<string, readonly string[]>>,
): string[] {
  const names = Object.keys(dictionary);
  const pairs: { topic: number; name: number; score: number }[] = [];
  topics.forEach((t, topic) => {
    names.forEach((name, n) => {
      const keywords = new Set(dictionary[name]!.map((k) => k.toLowerCase()));
      let score = 0;
      t.words.forEach((w, i) => {
        if (keywords.has(w)) score += t.weights[i]!;
      });
      if (score > 0) pairs.push({ topic, name: n, score });
    });
  });
  pairs.sort((a, b) => b.score - a.score || a.topic - b.topic || a.name - b.name);
  const result: (string | null)[] = topics.map(() => null);
  const usedNames = new Set<number>();
  for (const p of pairs) {
    if (result[p.topic] !== null || usedNames.has(p.name)) continue;
    result[p.topic] = names[p.name]!;
    usedNames.add(p.name);
  }
  const taken = new Set(result.filter((n): n is string => n !== null));
  return result.map((name, topic) => {
    if (name !== null) return name;
    let fallback = topics[topic]!.words.slice(0, 3).join(' / ') || `Topic ${topic}`;
    while (taken.has(fallback)) fallback = `${fallback} (${topic})`;
    taken.add(fallback);
    return fallback;
  });
}
