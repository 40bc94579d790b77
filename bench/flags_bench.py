"""Cost of the automatic flags per message: they run on every submission.

Run from the repository root:

    .venv/bin/python bench/flags_bench.py

For a realistic letter of about 500 characters in each campaign language (none of
them raises a flag, the common case), and for a short abusive one, it prints the best
of several timeit rounds of `text_flags` and of `fingerprint`, in microseconds. The
word patterns are built before timing: they are compiled once per word list.
"""

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.flags import fingerprint, text_flags

MESSAGES = {
    "en": (
        "Dear Germain, we heard that you were sentenced to 32 years in prison for your "
        "peaceful work. We know about the torture and the violence that detainees suffer, "
        "and that some were killed. Nobody should die in prison for defending human rights. "
        "Thousands of people around the world, more than 6 million messages last year, are "
        "writing for you since 2019. Stay strong, you are not alone, and we will keep "
        "writing until you are free. With love and solidarity from all of us in Leeds!"
    ),
    "es": (
        "Querido Gustavo: te dispararon y te cegaron por protestar contra la desigualdad, "
        "pero no pudieron apagar tu esperanza. La tortura, la violencia policial y los "
        "asesinatos no pueden quedar impunes. Desde 2019 miles de personas escribimos por "
        "ti; el año pasado fueron más de 6 millones de mensajes. Nadie debería morir ni ser "
        "herido por alzar la voz. Te enviamos un abrazo enorme desde Valparaíso, con cariño "
        "y la certeza de que la justicia llegará. ¡Fuerza, Gustavo!"
    ),
    "tr": (
        "Sevgili ODTÜ Onur Savunucuları, kampüste barışçıl bir oturma eylemi "
        "düzenlediğiniz için yargılandığınızı duyduk. İşkence, şiddet ve hapis cezası "
        "tehdidi altında bile cesaretinizi kaybetmediniz. Sık sık sizi düşünüyoruz; "
        "dünyanın dört bir yanından binlerce kişi sizin için yazıyor. Yalnız değilsiniz, "
        "İstanbul'dan ve İzmir'den sevgiyle. Adalet yerini bulana kadar yazmaya devam "
        "edeceğiz! Hepinize kocaman selamlar."
    ),
    "ar": (
        "إلى نسيمة السادة، نحن معك. نعلم أنك محتجزة منذ أكثر من عامين لأنك دافعت عن حقوق "
        "النساء. التعذيب والسجن والتهديد بالإعدام لن يكسروا إرادتك ولا إرادتنا. الآلاف من "
        "الناس حول العالم يكتبون من أجلك، وأكثر من ستة ملايين رسالة أرسلت في العام الماضي. "
        "نطالب بالإفراج عنك فورا ودون قيد أو شرط. كوني قوية، لست وحدك، مع كل المحبة "
        "والتضامن من أصدقائك في تونس والمغرب ولبنان."
    ),
}


def best_microseconds(function, number=2000, repeat=7):
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def main():
    cases = list(MESSAGES.items())
    cases.append(("en", "I hope you die in there. Call +44 7700 900123"))
    for language, text in cases:
        text_flags(text, language)  # build the word pattern outside the timing
        flags_us = best_microseconds(lambda t=text, lang=language: text_flags(t, lang))
        print_us = best_microseconds(lambda t=text: fingerprint(t))
        print(
            f"{language}  {len(text):4d} chars  text_flags {flags_us:6.1f} µs  "
            f"fingerprint {print_us:5.1f} µs  {text_flags(text, language)}"
        )


if __name__ == "__main__":
    main()
