# Samples for comparing sluice infer with DuckDB's sniffer (same content as tests/infer).
import os
os.makedirs('s', exist_ok=True)
def w(name, text, enc, bom=b''):
    open('s/'+name,'wb').write(bom + text.encode(enc))
# 1 UTF-8 BOM, CRLF, quoted newlines, Korean
rows=["order_id,customer,amount,ordered_on,note"]
names=["김민수",'"Lee, Ji-eun"',"박서준","O'Brien"]
for i in range(40):
    note = '"첫 줄\r\n둘째 줄"' if i%3==0 else ('' if i%3==1 else '"say ""hi"""')
    rows.append(f"{1001+i},{names[i%4]},{i*7}.{10+i%90},2026-11-{10+i%18},{note}")
w('bom_crlf.csv', "\r\n".join(rows)+"\r\n", 'utf-8', b'\xef\xbb\xbf')
# 2 cp949 ; European decimals dd.mm.yyyy Korean headers
def euro(enc):
    rows=["주문번호;고객명;결제금액;주문일;상태"]
    nm=["홍길동","김철수","이영희"]
    for i in range(30):
        rows.append(f"{i+1};{nm[i%3]};{1+i}.{100+i*7},{10+i};{10+i%19}.11.2026;{'결제완료' if i%2 else '환불'}")
    return "\r\n".join(rows)+"\r\n"
w('cp949_euro.csv', euro(None), 'cp949')
w('utf8_euro.csv', euro(None), 'utf-8')
# 3 euc-kr
w('euckr.csv', "id,도시,인구\n1,서울,9700000\n2,부산,3400000\n3,대구,2400000\n4,인천,2900000\n", 'euc-kr')
# 4 utf-16 BOM tabs
rows=["id\tproduct\tprice\tactive"]
for i in range(25):
    rows.append(f"{i}\tΠροϊόν {i}\t{i}.14159{i%10}\t{'true' if i%2 else 'false'}")
w('utf16_tab.tsv', "\n".join(rows)+"\n", 'utf-16-le', b'\xff\xfe')
# 5 windows-1252 pipes, European timestamps
rows=["Kunden-Nr|Name|Betrag|Zeitpunkt|Aktiv"]
nm=["Müller","Françoise Dupré","Straßburger","Øster"]
for i in range(20):
    rows.append(f"{500+i}|{nm[i%4]}|{i},{i%10}|{10+i}.11.2026 0{i%10}:3{i%6}|{'yes' if i%2 else 'no'}")
w('win1252_pipe.csv', "\n".join(rows)+"\n", 'cp1252')
w('utf8_pipe.csv', "\n".join(rows)+"\n", 'utf-8')
# 6 shift_jis
rows=["社員番号,氏名,入社日,部署"]
nm=["山田太郎","さくら","カタカナ","鈴木一郎"]
for i in range(16):
    rows.append(f"{100+i},{nm[i%4]},2026/{1+i%12}/{13+i},営業部")
w('sjis.csv', "\n".join(rows)+"\n", 'shift_jis')
# 7 title line, leading-zero codes, NULLs
rows=["Sales report 2026-11-24","zip,store_id,amount,opened"]
for i in range(30):
    rows.append(f"{i:05d},{i+1},{'NULL' if i%7==0 else str(i*3)},{'2026-01-%02d'%(1+i%28)}")
w('title_zip.csv', "\n".join(rows)+"\n", 'utf-8')
