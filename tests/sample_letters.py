"""Realistic letters in the campaign's languages, full of the words of human-rights work
(torture, killing, prison, the death penalty) and of names, places and numbers that a
naive filter would take for abuse, phone numbers or shouting."""

APPEAL_EN = (
    "Dear Attorney General, I am writing about Germain Rukuki, a human rights defender "
    "serving a 32-year prison sentence for his peaceful activism. Reports of torture and "
    "ill-treatment in detention must be investigated, and those responsible for abuse, "
    "murder or rape must face justice. Nobody should be tortured, shot, blinded or killed "
    "for defending human rights, and nobody should die in prison. The death penalty and "
    "every execution violate the right to life. I urge you to release him and to end the "
    "violence against activists. Since 1961 people have written letters like this one; "
    "last year more than 6 million messages were sent, and an earlier edition counted "
    "3,700,000. Yours sincerely, Sam Dick, Scunthorpe"
)
SOLIDARITY_EN = (
    "Gustavo, you were struck in both eyes and blinded by police firing rubber and metal "
    "ammunition at protesters, and still you speak out. They tried to kill your hope and "
    "failed. We will not let the world forget, and we will keep writing until there is "
    "justice. Stay strong! From a class of 22-year-old psychology students who passed "
    "your story around the whole campus. ❤️✊"
)
APPEAL_ES = (
    "Señor Fiscal Nacional: le escribo por Gustavo Gatica, estudiante de 22 años que fue "
    "cegado por disparos de la policía durante una protesta en 2019. La tortura, los malos "
    "tratos, la violencia policial y el abuso de la fuerza deben investigarse. Nadie debería "
    "morir, ser torturado, violado o asesinado por protestar, y la muerte y la ejecución "
    "no pueden quedar impunes. No es una disputa política: es un cómputo de víctimas. "
    "Le pido que los responsables rindan cuentas. Atentamente, Lucía, Valparaíso"
)
SOLIDARITY_ES = (
    "Querido Gustavo: te dispararon y te cegaron, quisieron matar tu esperanza y no "
    "pudieron. Desde hace más de 60 años se escriben cartas contra la tortura, la prisión "
    "injusta y la pena de muerte, y hoy te escribimos a ti desde Concepción. ¡Fuerza! "
    "Un abrazo de todo el curso. 💪"
)
SOLIDARITY_FR = (
    "Chère Nassima, vous êtes détenue depuis plus de deux ans pour avoir défendu les "
    "droits des femmes. La torture, les violences et la menace d'exécution ne vous feront "
    "pas taire. Un groupe d'élèves de Puteaux vous écrit : vous n'êtes pas seule !"
)
SOLIDARITY_TR = (
    "Sevgili ODTÜ Onur Savunucuları, kampüste barışçıl bir oturma eylemi düzenlediğiniz "
    "için yargılandığınızı duyduk. İşkence, şiddet ve hapis cezası tehdidi altında bile "
    "cesaretinizi kaybetmediniz. Sık sık sizi düşünüyoruz; bu SIKINTILI günler geçecek. "
    "İstanbul'dan ve İzmir'den sevgiyle!"
)
SOLIDARITY_AR = (
    "إلى نسيمة السادة، نحن معك. نعلم أنك محتجزة منذ أكثر من عامين لأنك دافعت عن حقوق "
    "النساء. التعذيب والسجن والعنف والتهديد بالإعدام لن تكسر إرادتك، ولن يقتلوا الأمل. "
    "نطالب بالإفراج عنك فوراً ودون قيد أو شرط. كوني قوية، لستِ وحدك."
)
