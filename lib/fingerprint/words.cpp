#include "fingerprint/words.h"

namespace omlkit::fingerprint {

namespace {
// 466 frequent English words (a hand-made list, no punctuation); a key starts from one of
// them, capitalised, and the base model continues it.
constexpr std::string_view kWords[] = {
    "the", "of", "and", "to", "in", "is", "was", "for", "that", "with", "as", "on", "by", "at", "from", "it",
    "this", "be", "are", "or", "an", "which", "but", "not", "have", "has", "had", "were", "all", "one",
    "their", "they", "there", "been", "more", "when", "will", "would", "who", "so", "can", "if", "no", "out",
    "up", "about", "into", "than", "then", "them", "its", "only", "other", "new", "some", "could", "time",
    "these", "two", "may", "first", "any", "like", "now", "my", "such", "make", "over", "our", "even",
    "most", "after", "also", "made", "many", "before", "must", "through", "back", "years", "where", "much",
    "your", "way", "well", "down", "should", "because", "each", "just", "those", "people", "how", "too",
    "little", "state", "good", "very", "world", "still", "own", "see", "men", "work", "long", "get", "here",
    "between", "both", "life", "being", "under", "never", "day", "same", "another", "know", "while", "last",
    "might", "us", "great", "old", "year", "off", "come", "since", "against", "go", "came", "right", "used",
    "take", "three", "states", "himself", "few", "house", "use", "during", "without", "again", "place",
    "around", "however", "home", "small", "found", "thought", "went", "say", "part", "once", "general",
    "high", "upon", "school", "every", "does", "got", "united", "left", "number", "course", "war", "until",
    "always", "away", "something", "fact", "though", "water", "less", "public", "put", "think", "almost",
    "hand", "enough", "far", "took", "head", "yet", "government", "system", "better", "set", "told",
    "nothing", "night", "end", "why", "called", "eyes", "find", "going", "look", "asked", "later", "knew",
    "point", "next", "program", "city", "business", "give", "group", "toward", "young", "days", "let",
    "room", "president", "side", "social", "given", "present", "several", "order", "national", "possible",
    "rather", "second", "face", "per", "among", "form", "important", "often", "things", "looking", "early",
    "white", "case", "john", "become", "large", "big", "need", "four", "within", "felt", "along", "children",
    "saw", "best", "church", "ever", "least", "power", "development", "light", "thing", "seemed", "family",
    "interest", "want", "members", "mind", "country", "area", "others", "done", "turned", "although", "open",
    "god", "service", "certain", "kind", "problem", "began", "different", "door", "thus", "help", "sense",
    "means", "whole", "matter", "perhaps", "itself", "york", "times", "law", "human", "line", "above",
    "name", "example", "action", "company", "hands", "local", "show", "whether", "five", "history", "gave",
    "today", "either", "act", "feet", "across", "taken", "past", "quite", "anyone", "having", "seen",
    "death", "experience", "body", "word", "half", "really", "week", "field", "car", "words", "already",
    "information", "tell", "together", "college", "shall", "money", "period", "held", "keep", "sure",
    "probably", "free", "real", "seems", "behind", "cannot", "miss", "political", "air", "question",
    "making", "office", "brought", "whose", "special", "heard", "major", "problems", "ago", "became",
    "federal", "moment", "study", "available", "known", "result", "street", "economic", "boy", "reason",
    "change", "position", "south", "board", "individual", "job", "society", "areas", "west", "close", "turn",
    "love", "community", "true", "court", "force", "full", "seem", "am", "wife", "age", "future", "voice",
    "center", "woman", "control", "common", "necessary", "following", "front", "sometimes", "policy", "six",
    "girl", "clear", "further", "land", "run", "students", "provide", "feel", "party", "able", "mother",
    "music", "education", "university", "child", "effect", "level", "stood", "military", "town", "short",
    "morning", "total", "outside", "rate", "figure", "class", "art", "century", "washington", "north",
    "usually", "leave", "therefore", "evidence", "million", "sound", "black", "strong", "hard", "various",
    "says", "believe", "type", "value", "play", "surface", "soon", "mean", "near", "lines", "table", "peace",
    "modern", "tax", "road", "red", "book", "personal", "process", "situation", "minutes", "increase",
    "idea", "english", "alone", "women", "gone", "nor", "amount", "doing", "feeling",
};
}  // namespace

std::span<const std::string_view> common_words() { return kWords; }

}  // namespace omlkit::fingerprint
