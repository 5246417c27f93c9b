"""Custom Rasa components. This folder is on the Rasa processes' PYTHONPATH
(dutyline.rasa_env.rasa_environment), so a locale's config names them by module
("korean_tokenizer.KoreanTokenizer"); the app itself never imports them."""
